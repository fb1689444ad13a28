// Conformance with the reference engine's answers in ../shared/vectors (see its README): every case and
// configuration, read with the project's own safetensors reader.

import Foundation
import Testing
@testable import SpQRCore
import SpQRTestSupport

/// The directory of the reference vectors: $SPQR_VECTORS, or ../shared/vectors beside the checkout.
func vectorsDirectory() -> String {
    if let env = ProcessInfo.processInfo.environment["SPQR_VECTORS"] { return env }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
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
              let configs = json["configs"] as? [String: Any] else { continue }
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
    return Expected(config: config, nOutliers: Int(try num("n_outliers")),
                    avgBits: try num("avg_bits_reference_unrounded"), relWeightError: try num("rel_weight_error"),
                    relProxyError: try num("rel_proxy_error"), tau: try num("unstructured_outlier_threshold"),
                    deadColumns: Int(try num("dead_columns")))
}

@Suite("Conformance with the reference engine")
struct ConformanceTests {
    /// Cases whose entry-wise Q agreement is decided by float32 rounding noise rather than by the algorithm.
    /// They must still agree on at least 97% of the entries, and on every other figure.
    static let floatNoiseBound: Set<String> = ["synthetic-b/w2-g8"]

    /// synthetic-b at 2 bits with groups of 8 is chaotic: perturbing H by about one float32 ulp (relative
    /// 1.2e-7, far below any real calibration noise) moves the share of Q entries equal to the reference
    /// over more than a percentage point (measured: 97.4%–99.8% over 16 perturbations); changes of that
    /// size come from any change of float32 summation order (another BLAS, another blocking, another
    /// thread split), so no float32 implementation can hold this bar deterministically. Outliers, bits and errors stay
    /// within their tolerances throughout; only the entry-wise agreement of Q is noise-bound.
    @Test("Q agreement of synthetic-b/w2-g8 is within float32 noise")
    func qAgreementIsWithinFloatNoise() throws {
        let c = VectorCase(name: "synthetic-b", config: "w2-g8")
        let file = try SafetensorsFile(path: "\(vectorsDirectory())/\(c.name).safetensors")
        let w = try file.matrix("W"), h0 = try file.matrix("H")
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
            let r = try SpQR.run(try PreparedLayer(name: c.name, weights: w, hessian: h, config: e.config), config: e.config)
            agreement.append(zip(refQ, r.dequantized.values).filter { abs($0 - $1) <= 1e-5 * maxW }.count)
            outliers.insert(r.figures.nOutliers)
            #expect(abs(r.figures.relProxyError - e.relProxyError) <= 0.01 * e.relProxyError)
        }
        let spread = Double(agreement.max()! - agreement.min()!) / Double(refQ.count)
        #expect(spread > 0.005, "agreement \(agreement): the case is no longer noise-bound; remove it from floatNoiseBound")
        #expect(outliers.allSatisfy { abs($0 - e.nOutliers) <= max(2, e.nOutliers / 50) })
    }

    @Test("vectors are present")
    func vectorsPresent() {
        #expect(vectorCases.count == 36, "expected 4 cases × 9 configurations in \(vectorsDirectory())")
    }

    @Test("matches the reference", arguments: vectorCases)
    func matches(_ c: VectorCase) throws {
        let file = try SafetensorsFile(path: "\(vectorsDirectory())/\(c.name).safetensors")
        let w = try file.matrix("W"), h = try file.matrix("H")
        let e = try loadExpected(c)
        let layer = try PreparedLayer(name: c.name, weights: w, hessian: h, config: e.config)
        let r = try SpQR.run(layer, config: e.config)
        let f = r.figures

        // Outlier count: within 2%, or ±2 when small.
        let tolerance = max(2, Int((0.02 * Double(e.nOutliers)).rounded(.up)))
        #expect(abs(f.nOutliers - e.nOutliers) <= tolerance, "n_outliers \(f.nOutliers) vs reference \(e.nOutliers)")
        // Proxy error within 1% relative.
        #expect(abs(f.relProxyError - e.relProxyError) <= 0.01 * e.relProxyError,
                "rel_proxy_error \(f.relProxyError) vs \(e.relProxyError)")
        // Reference average bits exactly (uses our outlier share, which must then match exactly too when
        // the counts agree).
        let expectedBits = BitCost.referenceAverageBits(e.config, outlierShare: Double(e.nOutliers) / Double(w.rows * w.cols))
        #expect(abs(expectedBits - e.avgBits) < 1e-9, "reference formula \(expectedBits) vs \(e.avgBits)")
        if f.nOutliers == e.nOutliers { #expect(abs(f.avgBits - e.avgBits) < 1e-9) }
        #expect(f.deadColumns == e.deadColumns)
        if e.tau.isFinite && e.config.outliersEnabled {
            #expect(abs(f.tau - e.tau) <= 1e-4 * e.tau, "tau \(f.tau) vs \(e.tau)")
        }

        // Outlier masks: Jaccard ≥ 0.95, or at most 2 positions differ when the reference has < 50.
        let refMask = try file.integers("\(c.config).outliers")
        var both = 0, either = 0, differ = 0
        for k in 0..<refMask.count {
            let a = refMask[k] != 0, b = r.outlierMask[k] != 0
            if a && b { both += 1 }
            if a || b { either += 1 }
            if a != b { differ += 1 }
        }
        if e.nOutliers < 50 {
            #expect(differ <= 2, "\(differ) outlier positions differ")
        } else {
            let jaccard = Double(both) / Double(max(either, 1))
            #expect(jaccard >= 0.95, "outlier Jaccard \(jaccard)")
        }

        // Q: at least 99% of entries within 1e-5 · max|W|.
        let refQ = try file.floats("\(c.config).Q")
        let maxW = w.values.map { abs($0) }.max() ?? 0
        let close = zip(refQ, r.dequantized.values).filter { abs($0 - $1) <= 1e-5 * maxW }.count
        if ProcessInfo.processInfo.environment["SPQR_CONFORMANCE_REPORT"] != nil { print("REPORT \(c) outliers \(f.nOutliers)/\(e.nOutliers) differ \(differ) proxy \(f.relProxyError)/\(e.relProxyError) werr \(f.relWeightError)/\(e.relWeightError) Qmatch \(close)/\(refQ.count) tau \(f.tau)/\(e.tau)") }
        if Self.floatNoiseBound.contains(c.description) {
            // See `qAgreementIsWithinFloatNoise`: here the 99% bar lies inside the float32 noise floor.
            withKnownIssue("Q agreement of this 2-bit case varies by >1% under 1-ulp changes of H", isIntermittent: true) {
                #expect(Double(close) >= 0.99 * Double(refQ.count), "only \(close) of \(refQ.count) entries of Q match")
            }
            #expect(Double(close) >= 0.97 * Double(refQ.count), "only \(close) of \(refQ.count) entries of Q match")
        } else {
            #expect(Double(close) >= 0.99 * Double(refQ.count), "only \(close) of \(refQ.count) entries of Q match")
        }
    }
}
