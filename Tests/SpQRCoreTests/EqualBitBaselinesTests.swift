// The equal-bit baselines: within SpQR's average bits, and no grid point within the budget beats the one
// chosen, on real sample layers and seeded synthetic ones; the pipeline reports progress and cancels.

import Testing

@testable import SpQRCore

@Suite("Equal-bit baselines")
struct EqualBitBaselinesTests {
    /// Checks the search's answer against every grid point, evaluated independently.
    static func checkSearch(_ measurement: LayerMeasurement, _ config: SpQRConfig) throws {
        let m = try measurement.measure(config, steps: [.fullLayer, .equalBitBaselines])
        let e = try #require(m.equalBitBaselines)
        let budget = m.result.figures.avgBits
        #expect(e.budget == budget)
        let rtn = try #require(e.rtn)
        let gptq = try #require(e.gptq)
        let p = try measurement.prepare(for: config)
        let grid = EqualBitSearch.grid(around: config)
        let within = grid.filter { BitCost.referenceAverageBits($0, outlierShare: 0) <= budget }
        #expect(within.count == e.candidates && within.count < grid.count)
        for chosen in [rtn, gptq] {
            #expect(chosen.figures.avgBits <= budget)
            #expect(chosen.figures.avgBits == BitCost.referenceAverageBits(chosen.settings, outlierShare: 0))
            #expect(!chosen.settings.outliersEnabled)
            #expect(
                chosen.settings.permutationOrder == config.permutationOrder
                    && chosen.settings.percdamp == config.percdamp)
        }
        for c in within {
            let r = try SpQR.roundToNearestFigures(p, config: c)
            let g = try SpQR.gptqWithoutOutliersFigures(p, config: c)
            #expect(
                r.relProxyError >= rtn.figures.relProxyError,
                "round-to-nearest \(c.wbits) bits, groupsize \(String(describing: c.groupsize))")
            #expect(
                g.relProxyError >= gptq.figures.relProxyError,
                "GPTQ \(c.wbits) bits, groupsize \(String(describing: c.groupsize))")
        }
        // The chosen figures are those of running the chosen settings.
        #expect(try SpQR.gptqWithoutOutliersFigures(p, config: gptq.settings) == gptq.figures)
        #expect(try SpQR.roundToNearestFigures(p, config: rtn.settings) == rtn.figures)
        #expect(m.report.rtnAtBits == rtn && m.report.gptqAtBits == gptq)
        #expect(measurement.factorisations == 1)
    }

    @Test(
        "sample layers: within SpQR's bits and the best of the grid",
        arguments: [
            "encoder.layer.3.attention.self.query.weight", "encoder.layer.3.attention.self.value.weight",
        ])
    func sampleLayers(_ layer: String) throws {
        let checkpoint = try ModelFiles.openCheckpoint("\(samplesDirectory)/all-minilm-l6-v2.block3.safetensors")
        let calibration = try ModelFiles.openCalibration(
            hessians: "\(samplesDirectory)/all-minilm-l6-v2.block3.hessians.safetensors")
        try Self.checkSearch(
            LayerMeasurement(checkpoint: checkpoint, layer: layer, calibration: calibration), SpQRConfig())
    }

    @Test(
        "seeded synthetic layers: within SpQR's bits and the best of the grid", arguments: [(11, 3), (12, 4), (13, 2)])
    func syntheticLayers(_ seed: UInt64, _ wbits: Int) throws {
        let l = syntheticLayer(out: 64, in: 128, seed: seed)
        var config = SpQRConfig()
        config.wbits = wbits
        try Self.checkSearch(LayerMeasurement(name: "synthetic", weights: l.w, hessian: l.h), config)
    }

    @Test("the search reports its progress after the baselines and stops when cancelled")
    func progressAndCancel() throws {
        let l = syntheticLayer(out: 32, in: 64, seed: 3)
        let phases = Locked<[MeasurementPhase]>([])
        let fractions = Locked<[Double]>([])
        let m = LayerMeasurement(name: "synthetic", weights: l.w, hessian: l.h)
        _ = try m.measure(SpQRConfig(), steps: [.fullLayer, .baselines, .equalBitBaselines]) { phase, f in
            phases.withLock { if $0.last != phase { $0.append(phase) } }
            if phase == .equalBitBaselines { fractions.withLock { $0.append(f) } }
        }
        #expect(phases.withLock { $0 }.suffix(2) == [.baselines, .equalBitBaselines])
        let f = fractions.withLock { $0 }
        #expect(f.first == 0 && f.last == 1 && zip(f, f.dropFirst()).allSatisfy { $0 <= $1 })

        let token = CancellationToken()
        let started = Locked(false)
        #expect(throws: SpQRError.self) {
            try m.measure(SpQRConfig(), steps: [.fullLayer, .equalBitBaselines], cancel: token) { phase, f in
                if phase == .equalBitBaselines && f > 0 {
                    token.cancel()
                    started.withLock { $0 = true }
                }
            }
        }
        #expect(started.withLock { $0 })
    }
}
