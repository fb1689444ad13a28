// The reference pipeline's command line (Vahe1994/SpQR `main.py`) for a recipe, and what it cannot express:
// the reference applies one setting to every layer and has no flag for the GPTQ block size.

import Foundation

/// The equivalent reference command of a recipe.
public enum ReferenceCommand {
    /// The flags of `main.py` for one configuration, in the order the SpQR README writes them.
    public static func flags(_ c: SpQRConfig, nsamples: Int?) -> [String] {
        var f = ["--wbits", "\(c.wbits)"]
        if let g = c.groupsize { f += ["--groupsize", "\(g)"] }
        if c.perchannel { f.append("--perchannel") }
        if c.sym { f.append("--sym") }
        if let b = c.qqScaleBits { f += ["--qq_scale_bits", "\(b)"] }
        if let b = c.qqZeroBits { f += ["--qq_zero_bits", "\(b)"] }
        if c.qqZeroSym { f.append("--qq_zero_sym") }
        f += ["--qq_groupsize", "\(c.qqGroupsize)"]
        if c.roundZero { f += ["--round_zero", "1"] }
        if c.outlierThreshold.isFinite { f.append("--outlier_threshold=\(number(c.outlierThreshold))") }
        f += ["--permutation_order", c.permutationOrder.rawValue]
        f += ["--percdamp", number(c.percdamp)]
        if c.simplifiedOutliers { f.append("--simplified_outliers") }
        if let n = nsamples { f += ["--nsamples", "\(n)"] }
        return f
    }

    /// A number as Python reads it back exactly (shortest round-trip form).
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(format: "%.1f", x) : "\(x)"
    }

    /// The command line and the list of recipe features it cannot express.
    public static func make(_ r: Recipe) -> (command: String, unsupported: [String]) {
        var unsupported: [String] = []
        if r.defaults.blocksize != 128 {
            unsupported.append("blocksize \(r.defaults.blocksize): main.py always uses 128 (with groupsize dividing both, the result is the same)")
        }
        for name in r.layers.keys.sorted() {
            let o = r.layers[name]!.overrides
            guard !o.isEmpty else { continue }
            let desc = o.keys.sorted().map { "\($0)=\(describe(o[$0]!))" }.joined(separator: ", ")
            unsupported.append("layer \(name) overrides \(desc): main.py applies one setting to every layer")
        }
        let args = ["python", "main.py", shellQuote(r.model.path), "$DATASET"] + flags(r.defaults, nsamples: r.calibration.nSequences)
        return (args.joined(separator: " "), unsupported)
    }

    static func describe(_ v: RecipeValue) -> String {
        switch v {
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .bool(let b): return "\(b)"
        case .string(let s): return s
        case .null: return "none"
        }
    }

    static func shellQuote(_ s: String) -> String {
        s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:,".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
