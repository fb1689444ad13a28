// Conformance with the reference engine's answers in ../shared/vectors (see its README): every case and
// configuration, read with the project's own safetensors reader.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

/// The directory of the reference vectors: $SPQR_VECTORS, or ../shared/vectors beside the checkout.
func vectorsDirectory() -> String {
    if let env = ProcessInfo.processInfo.environment["SPQR_VECTORS"] { return env }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared/vectors").path
}

struct VectorCase: Sendable, CustomStringConvertible {
    let name: String
    let config: String
    var description: String { "\(name)/\(config)" }
}

let vectorCases: [VectorCase] = {
    let dir = vectorsDirectory()
    var cases: [VectorCase] = []
    for name in ["synthetic-a", "synthetic-b", "stories260k-l0-q_proj", "stories260k-l2-down_proj"] {
        guard let data = FileManager.default.contents(atPath: "\(dir)/\(name).json"),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let configs = json["configs"] as? [String: Any]
        else { continue }
        for key in configs.keys.sorted() { cases.append(VectorCase(name: name, config: key)) }
    }
    return cases
}()

struct Expected {
    let config: SpQRConfig
    let nOutliers: Int
    let avgBits: Double
    let relWeightError: Double
    let relProxyError: Double
    let tau: Double
    let deadColumns: Int
}

func loadExpected(_ c: VectorCase) throws -> Expected {
    let data = try #require(FileManager.default.contents(atPath: "\(vectorsDirectory())/\(c.name).json"))
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let entry = try #require((json["configs"] as? [String: Any])?[c.config] as? [String: Any])
    let configJSON = try JSONSerialization.data(withJSONObject: try #require(entry["config"]))
    let config = try JSONDecoder().decode(SpQRConfig.self, from: configJSON)
    func num(_ k: String) throws -> Double {
        if let s = entry[k] as? String, let v = Double(s) { return v }
        return try #require((entry[k] as? NSNumber)?.doubleValue, "\(k) missing")
    }
    return Expected(
        config: config, nOutliers: Int(try num("n_outliers")),
        avgBits: try num("avg_bits_reference_unrounded"), relWeightError: try num("rel_weight_error"),
        relProxyError: try num("rel_proxy_error"), tau: try num("unstructured_outlier_threshold"),
        deadColumns: Int(try num("dead_columns")))
}

@Suite("Conformance with the reference engine")
struct ConformanceTests {
    /// Entries of Q within 1e-5 · max|W| of the reference where that is not all of them (README, "Faithful to
    /// the reference"): the counts achieved, pinned so that any regression fails. synthetic-b/w2-g8 (98.9%)
    /// is float32 noise (see `qAgreementIsWithinFloatNoise`); stories260k-l2-down_proj/w2-g8 (99.97%) differs
    /// in 3 entries.
    static let qAgreement: [String: Int] = [
        "synthetic-b/w2-g8": 25313,
        "stories260k-l2-down_proj/w2-g8": 11005,
    ]
    /// The reference's average bits are the same formula summed in another order: up to 3 ulps apart.
    static let avgBitsUlps = 3.0
    /// Largest relative differences achieved over the 36 cases: the weight error 4.3e-7 (synthetic-a/w2-g8)
    /// and τ 1.8e-7 (stories260k-l2-down_proj), a few float32 ulps of a float32 computation.
    static let weightErrorTolerance = 4 * Double(Float.ulpOfOne)
    static let tauTolerance = 2 * Double(Float.ulpOfOne)

    /// synthetic-b at 2 bits with groups of 8 is chaotic: perturbing H by about one float32 ulp (relative
    /// 1.2e-7, far below any real calibration noise) moves the share of Q entries equal to the reference
    /// over more than a percentage point (measured: 97.4%–99.8% over 16 perturbations); changes of that
    /// size come from any change of float32 summation order (another BLAS, another blocking, another
    /// thread split), so the count pinned in `qAgreement` holds for this implementation's order only.
    /// Outliers, bits and errors stay within their tolerances throughout; only the entry-wise agreement of Q
    /// is noise-bound.
    @Test("Q agreement of synthetic-b/w2-g8 is within float32 noise")
    func qAgreementIsWithinFloatNoise() throws {
        let c = VectorCase(name: "synthetic-b", config: "w2-g8")
        let file = try SafetensorsFile(path: "\(vectorsDirectory())/\(c.name).safetensors")
        let w = try file.matrix("W")
        let h0 = try file.matrix("H")
        let e = try loadExpected(c)
        let refQ = try file.floats("\(c.config).Q")
        let maxW = w.values.map { abs($0) }.max() ?? 0
        var agreement: [Int] = []
        var outliers: Set<Int> = []
        for seed in 0..<16 {
            var g = SeededGenerator(seed: UInt64(seed))
            var h = h0
            for i in 0..<h.rows {
                for j in i..<h.cols {
                    h[i, j] *= 1 + 1.2e-7 * g.gaussian()
                    h[j, i] = h[i, j]
                }
            }
            let r = try SpQR.run(
                try PreparedLayer(name: c.name, weights: w, hessian: h, config: e.config), config: e.config)
            agreement.append(zip(refQ, r.dequantized.values).filter { abs($0 - $1) <= 1e-5 * maxW }.count)
            outliers.insert(r.figures.nOutliers)
            #expect(abs(r.figures.relProxyError - e.relProxyError) <= 0.01 * e.relProxyError)
        }
        let spread = Double(agreement.max()! - agreement.min()!) / Double(refQ.count)
        #expect(
            spread > 0.005, "agreement \(agreement): the case is no longer noise-bound; correct the note on qAgreement")
        #expect(outliers.allSatisfy { abs($0 - e.nOutliers) <= max(2, e.nOutliers / 50) })
    }

    @Test("vectors are present")
    func vectorsPresent() {
        #expect(vectorCases.count == 36, "expected 4 cases × 9 configurations in \(vectorsDirectory())")
    }

    @Test("matches the reference", arguments: vectorCases)
    func matches(_ c: VectorCase) throws {
        let file = try SafetensorsFile(path: "\(vectorsDirectory())/\(c.name).safetensors")
        let w = try file.matrix("W")
        let h = try file.matrix("H")
        let e = try loadExpected(c)
        let layer = try PreparedLayer(name: c.name, weights: w, hessian: h, config: e.config)
        let r = try SpQR.run(layer, config: e.config)
        let f = r.figures

        // The outlier count and the outlier mask exactly; the average bits up to the summation order.
        #expect(f.nOutliers == e.nOutliers, "n_outliers \(f.nOutliers) vs reference \(e.nOutliers)")
        let refMask = try file.integers("\(c.config).outliers")
        let differ = zip(refMask, r.outlierMask).filter { ($0 != 0) != ($1 != 0) }.count
        #expect(differ == 0, "\(differ) outlier positions differ")
        #expect(
            abs(f.avgBits - e.avgBits) <= Self.avgBitsUlps * e.avgBits.ulp,
            "avg_bits \(f.avgBits) vs reference \(e.avgBits)")
        #expect(f.deadColumns == e.deadColumns)
        // The relative proxy error within 1e-5 relative (achieved: 1.8e-6); the weight error and τ as closely as
        // achieved.
        #expect(
            abs(f.relProxyError - e.relProxyError) <= 1e-5 * e.relProxyError,
            "rel_proxy_error \(f.relProxyError) vs \(e.relProxyError)")
        #expect(
            abs(f.relWeightError - e.relWeightError) <= Self.weightErrorTolerance * e.relWeightError,
            "rel_weight_error \(f.relWeightError) vs \(e.relWeightError)")
        if e.tau.isFinite && e.config.outliersEnabled {
            #expect(abs(f.tau - e.tau) <= Self.tauTolerance * e.tau, "tau \(f.tau) vs \(e.tau)")
        }

        // Q: every entry within 1e-5 · max|W| of the reference, or at least the count achieved for the
        // cases listed in `qAgreement`.
        let refQ = try file.floats("\(c.config).Q")
        let maxW = w.values.map { abs($0) }.max() ?? 0
        let close = zip(refQ, r.dequantized.values).filter { abs($0 - $1) <= 1e-5 * maxW }.count
        if ProcessInfo.processInfo.environment["SPQR_CONFORMANCE_REPORT"] != nil {
            let identical = zip(refQ, r.dequantized.values).filter { $0 == $1 }.count
            print(
                "REPORT \(c) outliers \(f.nOutliers)/\(e.nOutliers) differ \(differ) "
                    + "bits \(f.avgBits - e.avgBits) proxy \(abs(f.relProxyError - e.relProxyError) / e.relProxyError) "
                    + "werr \(abs(f.relWeightError - e.relWeightError) / e.relWeightError) "
                    + "tau \(e.tau.isFinite ? abs(f.tau - e.tau) / e.tau : 0) Qclose \(close) Qidentical \(identical) of \(refQ.count)"
            )
        }
        let required = Self.qAgreement[c.description] ?? refQ.count
        #expect(close >= required, "only \(close) of \(refQ.count) entries of Q match; pinned at \(required)")
    }
}
