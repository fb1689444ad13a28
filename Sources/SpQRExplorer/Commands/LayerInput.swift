// Opening a checkpoint, a layer and its Hessian for the headless commands.

import ArgumentParser
import Foundation
import SpQRCore

/// The checkpoint argument, as PATH or --weights.
struct CheckpointOptions: ParsableArguments {
    @Argument(help: "Checkpoint: a safetensors file, a directory of safetensors shards, or a GGUF file.")
    var path: String?

    @Option(name: [.customLong("weights")], help: "Checkpoint file (same as PATH).")
    var weights: String?

    func validate() throws {
        if path != nil && weights != nil {
            throw ValidationError("give the checkpoint either as PATH or with --weights, not both")
        }
        if path == nil && weights == nil { throw ValidationError("missing checkpoint: give PATH or --weights FILE") }
    }

    var resolved: String { path ?? weights ?? "" }
}

/// A loaded layer with its calibration, ready to measure.
struct LoadedLayer {
    let checkpoint: any Checkpoint
    let entry: TensorEntry
    let source: any CalibrationSource
    /// W and H of the layer, measured through the one pipeline all commands share.
    let measurement: LayerMeasurement

    var weights: Matrix { measurement.weights }

    init(checkpoint path: String, layer: String, calibration: CalibrationOptions) throws {
        checkpoint = try ModelFiles.openCheckpoint(path)
        entry = try checkpoint.entry(layer)
        source = try calibration.source()
        measurement = try LayerMeasurement(checkpoint: checkpoint, layer: entry.name, calibration: source)
    }

    /// Notes for stderr: the checkpoint's note on the tensor (re-quantization, row order), adjusted settings
    /// and a data-free calibration.
    func notes(_ config: SpQRConfig) -> [String] {
        var notes = (entry.note.map { [$0] } ?? []) + config.notes(inFeatures: weights.cols)
        if source.kind == .none {
            notes.append("no calibration data: H = I (data-free); errors are weight errors, not output errors")
        }
        return notes
    }

    /// The recipe's model and calibration sections (hashing their files). Hashing more than 256 MiB says
    /// so on stderr first, and shows a percentage there when stderr is a terminal.
    func recipeInputs() throws -> (model: Recipe.Model, calibration: Recipe.Calibration) {
        let (handler, progress) = hashingProgress("of model and calibration files for the recipe")
        defer { progress.finish() }
        return try Recipe.describeInputs(checkpoint: checkpoint, calibration: source, progress: handler)
    }
}

func printNotes(_ notes: [String]) {
    for note in notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
}
