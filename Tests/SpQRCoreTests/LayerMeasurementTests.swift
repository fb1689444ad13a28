// The measurement pipeline: the same numbers as the engine's own steps, one factorisation per permutation
// order and percdamp, progress in phase order, the preview before the full layer, and cancellation.

import Testing

@testable import SpQRCore

@Suite("Layer measurement pipeline")
struct LayerMeasurementTests {
    static let layer = syntheticLayer(out: 48, in: 96, seed: 5)

    static func measurement() -> LayerMeasurement {
        LayerMeasurement(
            name: "synthetic", weights: layer.w, hessian: layer.h, sourceDtype: "F32", sourceBits: 32,
            calibration: "test")
    }

    /// wbits 2,3 × percdamp 0.01,1 in the order `sweep` lists them: the preparation key alternates.
    static let interleaved: [SpQRConfig] = [2, 3].flatMap { bits in
        [0.01, 1.0].map { damp in
            var c = SpQRConfig()
            c.wbits = bits
            c.percdamp = damp
            return c
        }
    }

    @Test("a measurement has the figures of PreparedLayer + SpQR.run + SpQR.baselines, and their report")
    func sameAsTheEngineSteps() throws {
        let config = SpQRConfig()
        let m = try Self.measurement().measure(config)
        let p = try PreparedLayer(name: "synthetic", weights: Self.layer.w, hessian: Self.layer.h, config: config)
        let r = try SpQR.run(p, config: config)
        let b = try SpQR.baselines(p, config: config)
        #expect(m.result.figures == r.figures)
        #expect(m.result.dequantized.values == r.dequantized.values)
        #expect(m.baselines == b)
        #expect(
            m.report
                == LayerReport(
                    layer: "synthetic", result: r, baselines: b, sourceDtype: "F32", sourceBits: 32,
                    calibration: "test"))
        #expect(m.phaseSeconds.keys.sorted { $0.rawValue < $1.rawValue } == [.baselines, .factorising, .fullLayer])
        #expect(m.seconds == m.phaseSeconds[.factorising]! + m.phaseSeconds[.fullLayer]!)
    }

    @Test("measureEach factorises once per (permutation_order, percdamp) and hands results back by index")
    func oneFactorisationPerKey() throws {
        let configs = Self.interleaved
        let m = Self.measurement()
        var seen: [(index: Int, done: Int, figures: LayerFigures)] = []
        try m.measureEach(configs) { i, done, measured in
            seen.append((i, done, measured.result.figures))
        }
        #expect(m.factorisations == 2)
        #expect(seen.map(\.done) == [1, 2, 3, 4])
        #expect(seen.map(\.index) == [0, 2, 1, 3], "grouped by percdamp, each group in the order given")
        for s in seen {
            let c = configs[s.index]
            let p = try PreparedLayer(name: "synthetic", weights: Self.layer.w, hessian: Self.layer.h, config: c)
            #expect(try SpQR.run(p, config: c).figures == s.figures, "configuration \(s.index)")
        }
        // One by one in the listed order, the key changes at every step: a factorisation each time.
        let oneByOne = Self.measurement()
        for c in configs { _ = try oneByOne.measure(c, steps: [.fullLayer]) }
        #expect(oneByOne.factorisations == 4)
    }

    @Test("a change of bits, groups or threshold reuses the preparation; a change of percdamp or order does not")
    func preparationIsKept() throws {
        let m = Self.measurement()
        var c = SpQRConfig()
        _ = try m.measure(c, steps: [.fullLayer])
        c.wbits = 4
        c.groupsize = 32
        c.outlierThreshold = 0.5
        let again = try m.measure(c, steps: [.fullLayer])
        #expect(m.factorisations == 1)
        #expect(again.phaseSeconds[.factorising] == nil)
        c.permutationOrder = .identity
        _ = try m.measure(c, steps: [.fullLayer])
        #expect(m.factorisations == 2)
    }

    @Test("preview, full layer and baselines: partial results first, progress in phase order")
    func previewThenFull() throws {
        // 256 rows: the preview (128 rows of whole second-level blocks) is a strict subset.
        let big = syntheticLayer(out: 256, in: 64, seed: 6)
        let m = LayerMeasurement(name: "big", weights: big.w, hessian: big.h)
        let phases = Locked<[MeasurementPhase]>([])
        var partials: [Measurement] = []
        let final = try m.measure(
            SpQRConfig(), steps: [.preview, .fullLayer, .baselines],
            progress: { phase, fraction in
                #expect((0...1).contains(fraction))
                phases.withLock { if $0.last != phase { $0.append(phase) } }
            },
            partial: { partials.append($0) })
        #expect(phases.withLock { $0 } == [.factorising, .preview, .fullLayer, .baselines])
        #expect(partials.count == 2)
        #expect(
            partials[0].result.isPreview && partials[0].result.rowIndices.count == 128 && partials[0].baselines == nil)
        #expect(!partials[1].result.isPreview && partials[1].baselines == nil)
        #expect(partials[1].result.figures == final.result.figures && final.baselines != nil)
        // The preview is SpQR on the preview rows of the same preparation.
        let rows = partials[0].result.rowIndices
        #expect(rows == SpQR.previewRows(outFeatures: 256, config: SpQRConfig()))
        let direct = try SpQR.run(try m.prepare(for: SpQRConfig()), config: SpQRConfig(), rows: rows)
        #expect(partials[0].result.figures == direct.figures && partials[0].result.dequantized == direct.dequantized)
        // A preview alone is the result; baselines then cover the preview's rows.
        let previewOnly = try m.measure(SpQRConfig(), steps: [.preview, .baselines])
        #expect(previewOnly.result.isPreview && previewOnly.result.figures == partials[0].result.figures)
        #expect(
            previewOnly.baselines
                == (try SpQR.baselines(try m.prepare(for: SpQRConfig()), config: SpQRConfig(), rows: rows)))
        #expect(m.factorisations == 1)
    }

    @Test("a cancelled token stops the measurement before any work and after a partial result")
    func cancellation() throws {
        let m = Self.measurement()
        let token = CancellationToken()
        token.cancel()
        #expect(throws: SpQRError.cancelled) { try m.measure(SpQRConfig(), cancel: token) }
        #expect(m.factorisations == 0)
        let later = CancellationToken()
        var partials = 0
        #expect(throws: SpQRError.cancelled) {
            try m.measure(
                SpQRConfig(), steps: [.fullLayer, .baselines], cancel: later,
                partial: { _ in
                    partials += 1
                    later.cancel()
                })
        }
        #expect(partials == 1)
    }

    @Test("a measurement without an SpQR step is refused before it factorises")
    func needsARun() {
        let m = Self.measurement()
        #expect(throws: SpQRError.self) { try m.measure(SpQRConfig(), steps: [.baselines]) }
        #expect(m.factorisations == 0)
    }

    @Test("reading from a checkpoint takes the entry's dtype and the calibration's label")
    func fromCheckpoint() throws {
        let checkpoint = try ModelFiles.openCheckpoint("\(vectorsDirectory())/synthetic-a.safetensors")
        let m = try LayerMeasurement(checkpoint: checkpoint, layer: "W", calibration: IdentityCalibration())
        #expect(m.weights.rows == 64 && m.weights.cols == 128 && m.hessian == Hessian.identity(128))
        let report = try m.measure(SpQRConfig(), steps: [.fullLayer]).report
        #expect(report.sourceDtype == "F32" && report.calibration == IdentityCalibration().label)
        #expect(report.compressionRatioSource == 32 * Double(64 * 128) / Double(report.storageBits))
    }
}
