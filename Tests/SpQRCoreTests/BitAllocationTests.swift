// Per-layer fronts measured on real SpQR runs, and allocations over a model's fronts: every target met,
// the totals summed from the chosen points, the recipe's defaults the most common setting, sizes parsed
// and out-of-reach targets refused with what the menu can reach.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("Bit allocation")
struct BitAllocationTests {
    static let menu = try! SettingsMenu.parse("wbits=2,3,4,8;groupsize=16,64;outlier_threshold=0.2,off")

    /// Fronts of three synthetic layers of different shapes, measured over `menu`.
    static let fronts: ModelFronts = {
        let configs = try! menu.configs(around: SpQRConfig())
        let layers = [(24, 64, UInt64(1)), (48, 64, 2), (32, 128, 3)].map { out, n, seed in
            let (w, h) = syntheticLayer(out: out, in: n, seed: seed)
            return try! LayerFront.measure(
                LayerMeasurement(name: "layer\(seed)", weights: w, hessian: h), configs: configs)
        }
        return ModelFronts(
            menu: menu.description, configs: configs, layers: layers, keptParameters: 1000,
            calibration: "synthetic", dataFree: false)
    }()

    @Test("a front's points are the measured runs: error = rel_proxy_error · tr(W H Wᵀ), one factorisation")
    func front() throws {
        let (w, h) = syntheticLayer(out: 24, in: 64, seed: 1)
        let m = LayerMeasurement(name: "l", weights: w, hessian: h)
        let configs = try Self.menu.configs(around: SpQRConfig())
        var calls: [Int] = []
        let front = try LayerFront.measure(m, configs: configs) { done, total in
            #expect(total == 16)
            calls.append(done)
        }
        #expect(calls == Array(1...16) && m.factorisations == 1)
        #expect(front.points.map(\.setting) == Array(0..<16) && front.shape == [24, 64] && front.parameters == 1536)
        for k in [0, 5, 15] {
            let r = try LayerMeasurement(name: "l", weights: w, hessian: h).measure(configs[k], steps: [.fullLayer])
            let delta = zip(w.values, r.result.dequantized.values).map { $0 - $1 }
            let direct = quadraticTrace(delta, rows: 24, h)
            #expect(isClose(front.points[k].error, direct, relative: 2e-4), "setting \(k)")
            #expect(front.points[k].avgBits == r.result.figures.avgBits)
            #expect(front.points[k].storageBits == r.result.figures.storage.total)
        }
        let hull = front.hull
        #expect(hull.count >= 3 && front.points[hull[0]].avgBits == front.points.map(\.avgBits).min()!)
        #expect(front.points[hull.last!].error == front.points.map(\.error).min()!)
    }

    @Test(
        "average-bits targets are met, with Σ error within the reported gap of the bound",
        arguments: [2.5, 3.2, 4.0, 6.5])
    func averageBits(target: Double) throws {
        let f = Self.fronts
        let a = try f.allocate(.averageBits(target))
        #expect(a.avgBits <= target)
        let weighted = a.choices.reduce(0.0) { $0 + Double($1.parameters) * $1.point.avgBits }
        #expect(isClose(a.avgBits, weighted / Double(f.parameters), relative: 1e-15))
        #expect(a.error == a.choices.reduce(0) { $0 + $1.point.error })
        let bound = try #require(a.bound)
        #expect(bound <= a.error && a.gap! == a.error - bound)
        // No uniform setting within the target beats it.
        for k in f.configs.indices {
            let u = f.uniform(k)
            if u.avgBits <= target { #expect(a.error <= u.error, "uniform setting \(k)") }
        }
        #expect(a.choices.map(\.config) == a.choices.map { f.configs[$0.point.setting] })
        let u = try #require(f.uniform(notBelow: a.avgBits))
        #expect(u.avgBits >= a.avgBits && Set(u.choices.map(\.point.setting)).count == 1)
        #expect(f.configs.indices.map(f.uniform).allSatisfy { $0.avgBits < a.avgBits || $0.avgBits >= u.avgBits })
    }

    @Test("byte targets count the kept tensors at fp16; maximum-error targets minimise the bits")
    func bytesAndError() throws {
        let f = Self.fronts
        let cheapest = try f.allocate(.averageBits(2.0001 + 0.2))
        let target = cheapest.bytes + 2000
        let a = try f.allocate(.totalBytes(target))
        #expect(a.bytes <= target)
        #expect(a.bytes == (a.storageBits + 7) / 8 + 2 * 1000)
        #expect(a.bytesFP16 == 2 * (f.parameters + 1000))
        #expect(isClose(a.compressionFP16, Double(a.bytesFP16) / Double(a.bytes), relative: 1e-15))
        let budget = 2 * a.error
        let e = try f.allocate(.maxError(budget))
        #expect(e.error <= budget && e.avgBits <= a.avgBits)
        #expect(try #require(e.bound) <= e.avgBits && e.gap! >= 0)
    }

    @Test("out-of-reach targets say what the menu can reach")
    func outOfReach() throws {
        let f = Self.fronts
        let least =
            f.layers.reduce(0.0) { $0 + Double($1.parameters) * $1.points.map(\.avgBits).min()! }
            / Double(f.parameters)
        for (target, fragment) in [
            (AllocationTarget.averageBits(2.0), "the least this menu gives is \(least)"),
            (.totalBytes(100), "bytes"), (.maxError(0), "most accurate"), (.averageBits(-1), "positive"),
        ] {
            do {
                _ = try f.allocate(target)
                Issue.record("\(target) was accepted")
            } catch let e as SpQRError {
                #expect(e.message.contains(fragment), "\(e.message)")
            }
        }
    }

    @Test("the recipe's defaults are the most common chosen setting")
    func common() throws {
        let a = try Self.fronts.allocate(.averageBits(3.5))
        let counts = Dictionary(grouping: a.choices, by: \.point.setting).mapValues(\.count)
        let top = counts.values.max()!
        #expect(counts[try #require(Self.fronts.configs.firstIndex(of: a.commonConfig))] == top)
    }

    @Test("sizes: decimal and binary units, plain bytes, and clear errors")
    func sizes() throws {
        #expect(try AllocationTarget.parseSize("24GB") == 24_000_000_000)
        #expect(try AllocationTarget.parseSize("500 MB") == 500_000_000)
        #expect(try AllocationTarget.parseSize("1.5GiB") == 1_610_612_736)
        #expect(try AllocationTarget.parseSize("123456") == 123_456)
        #expect(try AllocationTarget.parseSize("2kib") == 2048)
        for bad in ["24XB", "-5GB", "GB", "", "0.1"] {
            #expect(throws: SpQRError.self, "\(bad)") { try AllocationTarget.parseSize(bad) }
        }
        #expect(AllocationTarget.decimal(23_800_000_000) == "23.80 GB")
    }

    @Test("sensitivities weight each layer's error: a layer made 1000× as sensitive gets more bits, the same totals")
    func sensitivityWeights() throws {
        let f = Self.fronts
        let plain = try f.allocate(.averageBits(3.2))
        // Unit weights change nothing; the predicted error is Σ w_i·e_i.
        let unit = try f.weighted(
            by: ModelSensitivity(
                source: "unit", layers: f.layers.map { LayerSensitivity(layer: $0.layer, kl: 2, proxyLoss: 2) }))
        #expect(try unit.allocate(.averageBits(3.2)).choices.map(\.point.setting) == plain.choices.map(\.point.setting))
        // The layer with the fewest bits under the plain allocation becomes 1000× as sensitive.
        let poor = plain.choices.indices.min { plain.choices[$0].point.avgBits < plain.choices[$1].point.avgBits }!
        let scaled = try f.weighted(
            by: ModelSensitivity(
                source: "scaled",
                layers: f.layers.indices.map {
                    LayerSensitivity(layer: f.layers[$0].layer, kl: $0 == poor ? 1000 : 1, proxyLoss: 1)
                }))
        let a = try scaled.allocate(.averageBits(3.2))
        #expect(a.avgBits <= 3.2)
        #expect(a.choices[poor].point.avgBits > plain.choices[poor].point.avgBits)
        #expect(a.choices[poor].error == 1000 * a.choices[poor].point.error)
        #expect(isClose(a.error, a.choices.reduce(0) { $0 + $1.error }, relative: 1e-15))
        #expect(a.errorWeight.contains("predicted KL") && a.errorWeight.contains("scaled"))
        #expect(try #require(a.bound) <= a.error)
        // Sensitivities of other layers are refused.
        #expect(throws: SpQRError.self) {
            try f.weighted(
                by: ModelSensitivity(source: "x", layers: [LayerSensitivity(layer: "a", kl: 1, proxyLoss: 1)]))
        }
    }
}
