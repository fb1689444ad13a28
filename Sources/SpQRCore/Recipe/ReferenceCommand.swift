// The reference pipeline's command line (Vahe1994/SpQR `main.py`) for a recipe, and what it cannot express:
// the reference applies one setting to every layer, has no flag for the GPTQ block size, and loads its model
// with transformers' `from_pretrained` (a Hugging Face model directory), not a GGUF file or one tensor file.

import Foundation

/// The equivalent reference command of a recipe.
public enum ReferenceCommand {
    /// The flags of `main.py` for one configuration, in the order the SpQR README writes them.
    public static func flags(_ c: SpQRConfig, nsamples: Int?) -> [String] {
        Setting.all.flatMap { $0.referenceArguments($0.value(in: c)) }
            + (nsamples.map { ["--nsamples", "\($0)"] } ?? [])
    }

    /// A number as Python reads it back exactly (shortest round-trip form).
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(format: "%.1f", x) : "\(x)"
    }

    /// The command line and the list of recipe features it cannot express.
    public static func make(_ r: Recipe) -> (command: String, unsupported: [String]) {
        var unsupported: [String] = modelUnsupported(r.model).map { [$0] } ?? []
        for setting in Setting.all {
            guard case .absent(let uses, let note) = setting.reference else { continue }
            let value = setting.value(in: r.defaults)
            if value != uses {
                unsupported.append(
                    "\(setting.name) \(setting.text(of: value)): main.py always uses \(setting.text(of: uses)) (\(note))"
                )
            }
        }
        for name in r.layers.keys.sorted() {
            let o = r.layers[name]!.overrides
            guard !o.isEmpty else { continue }
            let desc = o.keys.sorted().map { "\($0)=\(describe($0, o[$0]!))" }.joined(separator: ", ")
            unsupported.append("layer \(name) overrides \(desc): main.py applies one setting to every layer")
        }
        let args =
            ["python", "main.py", shellQuote(r.model.path), "$DATASET"]
            + flags(r.defaults, nsamples: r.calibration.nSequences)
        return (args.joined(separator: " "), unsupported)
    }

    /// Why main.py cannot load the recipe's model as given, or nil when it is a model directory. The recipe
    /// names a single file as its model when its path ends in one of its files' names; a GGUF file by a
    /// `.gguf` file.
    static func modelUnsupported(_ m: Recipe.Model) -> String? {
        let names = m.files.map(\.name)
        let given = (m.path as NSString).lastPathComponent
        let what: String
        if names.contains(where: { $0.lowercased().hasSuffix(".gguf") }) {
            what = "a GGUF file"
        } else if names.contains(given) {
            what = "a single tensor file"
        } else {
            return nil
        }
        return "model \(m.path) is \(what): main.py loads a Hugging Face model directory (config.json and its "
            + "weights) with from_pretrained, so it cannot load this model as given; point it at the Hugging Face "
            + "model the file comes from"
    }

    /// An override as text ("none", "inf", "4").
    static func describe(_ key: String, _ v: RecipeValue) -> String {
        guard let setting = Setting.named(key), let value = try? setting.decode(json: v) else { return "\(v)" }
        return setting.text(of: value)
    }

    static func shellQuote(_ s: String) -> String {
        s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:,".contains($0) }
            ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension Setting {
    /// The reference `main.py` arguments for `value`: none when the setting is unset, off or has no flag.
    public func referenceArguments(_ value: SettingValue) -> [String] {
        if case .absent = reference { return [] }
        let text: String
        switch value {
        case .none: return []
        case .boolean(let on):
            guard on else { return [] }
            if case .binary = domain { return ["--\(name)", "1"] }
            return ["--\(name)"]
        case .number(let d):
            guard d.isFinite else { return [] }
            text = ReferenceCommand.number(d)
        case .integer, .choice: text = self.text(of: value)
        }
        if case .joined = reference { return ["--\(name)=\(text)"] }
        return ["--\(name)", text]
    }
}
