// spqr-explorer sweep: every combination of the listed settings on one layer, with the Pareto front of
// error against bits. Combinations that share the permutation order and percdamp share one
// factorisation.

import ArgumentParser
import Foundation
import SpQRCore

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Quantize one layer at every combination of the listed settings; mark the Pareto front.",
        discussion: """
            Examples:
              spqr-explorer sweep model.safetensors --layer NAME --hessian h.safetensors \\
                  --wbits 2,3,4 --groupsize 8,16,32 --outlier_threshold 0.1,0.2,0.5,off
              spqr-explorer sweep model.safetensors --layer NAME --wbits 3,4 --qq_scale_bits 2,3,none --json
              spqr-explorer sweep model.safetensors --layer NAME --wbits 2,3,4 --plot-png pareto.png
            Any valued setting takes a comma-separated list. Output: CSV (default) or JSON on stdout, one row per
            combination with avg bits, storage bits and every error figure; `pareto` is true on the front
            (no other point has fewer or equal bits and lower or equal proxy error, one of them strictly).
            The plot of proxy error (log scale) against avg bits goes to stderr when it is a terminal, or
            always with --plot; --plot-png FILE also writes it as a PNG picture. Progress goes to stderr.
            """)

    @OptionGroup var checkpoint: CheckpointOptions

    @Option(name: [.customLong("layer"), .customLong("tensor")], help: "Name of the weight tensor [out, in].")
    var layer: String

    @OptionGroup var calibration: CalibrationOptions
    @OptionGroup var settings: SettingsOptions

    @Flag(help: "Print JSON instead of CSV.")
    var json = false

    @Flag(help: "Draw the plot on stderr even when it is not a terminal.")
    var plot = false

    @Flag(name: [.customLong("no-plot")], help: "Do not draw the plot.")
    var noPlot = false

    @Option(
        name: [.customLong("plot-png")],
        help: "Also write the plot (error, log scale, against avg bits; the Pareto front joined) to this PNG file.")
    var plotPNG: String?

    @Flag(help: "Allow --plot-png to replace an existing file.")
    var force = false

    struct Point: Encodable {
        var config: SpQRConfig
        var avgBits: Double
        var storageBits: Int
        var storageBitsPerWeight: Double
        var nOutliers: Int
        var outlierFraction: Double
        var relWeightError: Double
        var relProxyError: Double
        var sensitivityConcentration: Double
        var pareto: Bool
        enum CodingKeys: String, CodingKey {
            case config, pareto
            case avgBits = "avg_bits", storageBits = "storage_bits", storageBitsPerWeight = "storage_bits_per_weight"
            case nOutliers = "n_outliers", outlierFraction = "outlier_fraction", relWeightError = "rel_weight_error"
            case relProxyError = "rel_proxy_error", sensitivityConcentration = "sensitivity_concentration"
        }
    }

    func run() throws {
        let configs = try settings.combinations(base: SpQRConfig())
        for c in configs { try c.validate() }
        if let plotPNG, !force, FileManager.default.fileExists(atPath: plotPNG) {
            throw SpQRError(.io, "\(plotPNG) already exists; pass --force to replace it")
        }
        let input = try LoadedLayer(checkpoint: checkpoint.resolved, layer: layer, calibration: calibration)
        let progress = StderrProgress("sweep")
        var points = try Self.measure(configs, on: input.measurement) { progress.step($0, of: configs.count) }
        progress.finish()
        for i in Pareto.front(bits: points.map(\.avgBits), error: points.map(\.relProxyError)) {
            points[i].pareto = true
        }
        if json {
            print(try ReportFormat.json(points))
        } else {
            print(Self.csv(points))
        }
        let tty = isatty(STDERR_FILENO) == 1
        if !noPlot && (plot || tty) {
            FileHandle.standardError.write(
                Data(
                    (ErrorBitsPlot.render(
                        points.map { ($0.avgBits, $0.relProxyError, $0.pareto) },
                        width: 60, height: 16, colour: tty) + "\n").utf8))
        }
        if let plotPNG {
            try PNGFile.write(
                ParetoPicture.render(
                    points.map { ($0.avgBits, $0.relProxyError, $0.pareto) },
                    title: "sweep of \(input.entry.name): \(points.count) combinations"),
                to: plotPNG)
            FileHandle.standardError.write(Data("plot written to \(plotPNG)\n".utf8))
        }
        printNotes(input.notes(configs[0]))
    }

    /// The point of every combination, in the order of `configs`; the pipeline measures them grouped by
    /// permutation order and percdamp, so each of those is factorised once. `step` gets the number done.
    static func measure(_ configs: [SpQRConfig], on layer: LayerMeasurement, step: (Int) -> Void) throws -> [Point] {
        var points = [Point?](repeating: nil, count: configs.count)
        try layer.measureEach(configs) { i, done, m in
            let c = configs[i]
            let f = m.result.figures
            points[i] = Point(
                config: c, avgBits: f.avgBits, storageBits: f.storage.total,
                storageBitsPerWeight: f.storageBitsPerWeight,
                nOutliers: f.nOutliers, outlierFraction: f.outlierFraction, relWeightError: f.relWeightError,
                relProxyError: f.relProxyError, sensitivityConcentration: f.sensitivityConcentration, pareto: false)
            step(done)
        }
        return points.compactMap { $0 }
    }

    /// CSV: every setting (`Setting.all`, in its text form) and the figures, one row per point.
    static func csv(_ points: [Point]) -> String {
        let figures = [
            "avg_bits", "storage_bits", "storage_bits_per_weight", "n_outliers", "outlier_fraction", "rel_weight_error",
            "rel_proxy_error", "sensitivity_concentration", "pareto",
        ]
        var lines = [(Setting.all.map(\.name) + figures).joined(separator: ",")]
        for p in points {
            let settings = Setting.all.map { $0.text(of: $0.value(in: p.config)) }
            lines.append(
                (settings + [
                    "\(p.avgBits)", "\(p.storageBits)", "\(p.storageBitsPerWeight)", "\(p.nOutliers)",
                    "\(p.outlierFraction)",
                    "\(p.relWeightError)", "\(p.relProxyError)", "\(p.sensitivityConcentration)", "\(p.pareto)",
                ]).joined(separator: ","))
        }
        return lines.joined(separator: "\n")
    }
}
