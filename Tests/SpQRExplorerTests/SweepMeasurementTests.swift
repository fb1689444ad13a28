// `sweep` measures through the pipeline: one factorisation per (permutation_order, percdamp), however the
// combinations are listed, and its points in the order of the combinations.

import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Sweep factorisations")
struct SweepMeasurementTests {
    static func layer() throws -> LayerMeasurement {
        let file = try SafetensorsFile(path: "\(BinaryRunner.vectors)/synthetic-a.safetensors")
        return LayerMeasurement(name: "W", weights: try file.matrix("W"), hessian: try file.matrix("H"))
    }

    @Test("--wbits 2,3 --percdamp 0.01,1: two factorisations for four combinations, points in listed order")
    func oneFactorisationPerKey() throws {
        let settings = try SettingsOptions.parse(["--wbits", "2,3", "--percdamp", "0.01,1"])
        let configs = try settings.combinations(base: SpQRConfig())
        #expect(configs.count == 4)
        let layer = try Self.layer()
        var steps: [Int] = []
        let points = try SweepCommand.measure(configs, on: layer) { steps.append($0) }
        #expect(layer.factorisations == 2)
        #expect(steps == [1, 2, 3, 4])
        #expect(points.map(\.config) == configs)
        for (c, p) in zip(configs, points) {
            let f = try SpQR.run(
                try PreparedLayer(name: "W", weights: layer.weights, hessian: layer.hessian, config: c), config: c
            ).figures
            #expect(p.relProxyError == f.relProxyError && p.nOutliers == f.nOutliers && p.avgBits == f.avgBits)
        }
    }

    @Test("three orders × two percdamps × two thresholds: six factorisations for twelve combinations")
    func everyKeyOnce() throws {
        let settings = try SettingsOptions.parse([
            "--permutation_order", "identity,act_order,spearman", "--percdamp", "0.1,1",
            "--outlier_threshold", "0.2,off",
        ])
        let configs = try settings.combinations(base: SpQRConfig())
        #expect(configs.count == 12)
        let layer = try Self.layer()
        _ = try SweepCommand.measure(configs, on: layer) { _ in }
        #expect(layer.factorisations == 6)
    }
}
