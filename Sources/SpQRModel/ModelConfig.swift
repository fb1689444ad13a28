// The hyperparameters of a decoder-only LLaMA-family model, read from a GGUF file's metadata
// (`<arch>.block_count`, `<arch>.embedding_length`, …, as llama.cpp writes them) or from the config.json
// beside safetensors weights (Hugging Face `LlamaConfig`, `MistralConfig`, `Qwen2Config`).
//
// Supported: LLaMA 1/2/3 (with LLaMA-3 and linear RoPE scaling), Mistral, SmolLM/SmolLM2, TinyLlama
// (all model_type "llama" or "mistral") and Qwen2/2.5 (model_type "qwen2", q/k/v biases).

import Foundation
import SpQRCore

/// How rotary frequencies are rescaled for long contexts.
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor` (inv_freq / factor).
    case linear(factor: Double)
    /// LLaMA 3.1's smooth per-frequency rescaling (transformers `_compute_llama3_parameters`).
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalContext: Double)
    /// Per-frequency divisors stored in a GGUF file (`rope_freqs.weight`, llama.cpp's form of the LLaMA 3 scaling).
    case divisors([Float])
}

/// A decoder's shape and constants.
public struct ModelConfig: Sendable, Equatable {
    /// The family as the file names it (`llama`, `mistral`, `qwen2`).
    public var family: String
    public var blocks: Int
    public var hidden: Int
    public var intermediate: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocabulary: Int
    public var rmsEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    /// Whether q/k/v carry biases (Qwen2).
    public var attentionBias: Bool
    /// Whether the output projection is the token embedding (no separate `lm_head.weight`).
    public var tiedEmbeddings: Bool
    /// Mistral's sliding attention window, when the model uses one.
    public var slidingWindow: Int?
    /// The context length the model was trained for, when the file says.
    public var maxPositions: Int? = nil
    /// The beginning- and end-of-sequence token ids, when the file says.
    public var bosTokenID: Int? = nil
    public var eosTokenID: Int? = nil

    /// The families this runtime runs, with the model types that name them.
    public static let supported = "llama (LLaMA 1/2/3, SmolLM/SmolLM2, TinyLlama), mistral, qwen2 (Qwen2/2.5)"
    static let families: Set<String> = ["llama", "mistral", "qwen2"]

    static func unsupported(_ name: String, _ path: String) -> SpQRError {
        SpQRError(.unsupported, "\(path): architecture \"\(name)\" is not supported; supported: \(supported)")
    }

    /// Reads a GGUF file's metadata.
    public static func gguf(_ file: GGUFFile) throws -> ModelConfig {
        let path = file.path
        guard let arch = file.metadata["general.architecture"]?.stringValue else {
            throw SpQRError(.fileFormat, "\(path): general.architecture is missing; cannot tell which model this is")
        }
        guard families.contains(arch) else { throw unsupported(arch, path) }
        func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
            if let v = file.metadata["\(arch).\(key)"] {
                if let i = v.intValue { return i }
                if let a = v.arrayValue, let first = a.count > 0 ? a[0].intValue : nil,
                    (0..<a.count).allSatisfy({ a[$0].intValue == first })
                {
                    return first
                }
                throw SpQRError(
                    .unsupported, "\(path): \(arch).\(key) is \(v); per-layer values that differ are not supported")
            }
            if let fallback { return fallback }
            throw SpQRError(.fileFormat, "\(path): metadata \(arch).\(key) is missing")
        }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        var c = ModelConfig(
            family: arch, blocks: try int("block_count"), hidden: hidden, intermediate: try int("feed_forward_length"),
            heads: heads, kvHeads: try int("attention.head_count_kv", heads),
            headDim: try int("attention.key_length", heads > 0 ? hidden / heads : 0), vocabulary: 0,
            rmsEps: Float(file.metadata["\(arch).attention.layer_norm_rms_epsilon"]?.doubleValue ?? 1e-5),
            ropeTheta: file.metadata["\(arch).rope.freq_base"]?.doubleValue ?? 10000, ropeScaling: .none,
            attentionBias: arch == "qwen2", tiedEmbeddings: !file.contains("output.weight"), slidingWindow: nil)
        if let kind = file.metadata["\(arch).rope.scaling.type"]?.stringValue, kind != "none" {
            guard kind == "linear", let f = file.metadata["\(arch).rope.scaling.factor"]?.doubleValue else {
                throw SpQRError(
                    .unsupported, "\(path): RoPE scaling \"\(kind)\" is not supported (linear and LLaMA 3's are)")
            }
            c.ropeScaling = .linear(factor: f)
        }
        if file.contains("rope_freqs.weight") { c.ropeScaling = .divisors(try file.floats("rope_freqs.weight")) }
        c.maxPositions = file.metadata["\(arch).context_length"]?.intValue
        c.bosTokenID = file.metadata["tokenizer.ggml.bos_token_id"]?.intValue
        c.eosTokenID = file.metadata["tokenizer.ggml.eos_token_id"]?.intValue
        let embedding = try file.info("token_embd.weight")
        c.vocabulary = embedding.shape.first ?? 0
        if let v = file.metadata["\(arch).vocab_size"]?.intValue, v != c.vocabulary {
            throw SpQRError(
                .fileFormat, "\(path): \(arch).vocab_size is \(v) but token_embd.weight has \(c.vocabulary) rows")
        }
        try c.validate(path)
        return c
    }

    /// Reads a Hugging Face config.json.
    public static func huggingFace(configPath path: String) throws -> ModelConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpQRError(
                .io, "\(path): cannot read the model's config.json (it must sit beside the safetensors weights)")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw SpQRError(.fileFormat, "\(path): not a JSON object")
        }
        let type = json["model_type"] as? String ?? (json["architectures"] as? [String])?.first ?? "unknown"
        guard families.contains(type) else { throw unsupported(type, path) }
        func int(_ key: String, _ fallback: Int? = nil) throws -> Int {
            if let v = json[key] as? Int { return v }
            if let fallback { return fallback }
            throw SpQRError(.fileFormat, "\(path): \"\(key)\" is missing or not an integer")
        }
        let hidden = try int("hidden_size")
        let heads = try int("num_attention_heads")
        var c = ModelConfig(
            family: type, blocks: try int("num_hidden_layers"), hidden: hidden,
            intermediate: try int("intermediate_size"),
            heads: heads, kvHeads: try int("num_key_value_heads", heads),
            headDim: (json["head_dim"] as? Int) ?? (heads > 0 ? hidden / heads : 0), vocabulary: try int("vocab_size"),
            rmsEps: Float((json["rms_norm_eps"] as? Double) ?? 1e-6),
            ropeTheta: (json["rope_theta"] as? Double) ?? 10000,
            ropeScaling: .none, attentionBias: type == "qwen2" || (json["attention_bias"] as? Bool ?? false),
            tiedEmbeddings: json["tie_word_embeddings"] as? Bool ?? false,
            slidingWindow: type == "mistral" ? json["sliding_window"] as? Int : nil,
            maxPositions: json["max_position_embeddings"] as? Int, bosTokenID: json["bos_token_id"] as? Int,
            eosTokenID: json["eos_token_id"] as? Int)
        if type == "qwen2", json["use_sliding_window"] as? Bool == true {
            throw SpQRError(.unsupported, "\(path): Qwen2 with use_sliding_window is not supported")
        }
        if let scaling = json["rope_scaling"] as? [String: Any] {
            let kind = (scaling["rope_type"] ?? scaling["type"]) as? String ?? "default"
            let factor = scaling["factor"] as? Double ?? 1
            switch kind {
            case "default": break
            case "linear": c.ropeScaling = .linear(factor: factor)
            case "llama3":
                c.ropeScaling = .llama3(
                    factor: factor, lowFreqFactor: scaling["low_freq_factor"] as? Double ?? 1,
                    highFreqFactor: scaling["high_freq_factor"] as? Double ?? 4,
                    originalContext: Double(scaling["original_max_position_embeddings"] as? Int ?? 8192))
            default:
                throw SpQRError(
                    .unsupported, "\(path): RoPE scaling \"\(kind)\" is not supported (linear and llama3 are)")
            }
        }
        if (json["hidden_act"] as? String).map({ $0 != "silu" }) == true {
            throw SpQRError(.unsupported, "\(path): hidden_act \(json["hidden_act"]!) is not supported (silu is)")
        }
        try c.validate(path)
        return c
    }

    func validate(_ path: String) throws {
        let dims: [(String, Int)] = [
            ("blocks", blocks), ("hidden size", hidden), ("intermediate size", intermediate),
            ("heads", heads), ("KV heads", kvHeads), ("head dim", headDim), ("vocabulary", vocabulary),
        ]
        for (name, v) in dims where v <= 0 {
            throw SpQRError(.fileFormat, "\(path): the \(name) is \(v); it must be positive")
        }
        guard heads % kvHeads == 0 else {
            throw SpQRError(.fileFormat, "\(path): \(heads) attention heads are not a multiple of \(kvHeads) KV heads")
        }
        guard headDim % 2 == 0 else {
            throw SpQRError(.fileFormat, "\(path): head dim \(headDim) is odd; RoPE needs pairs")
        }
        if case .divisors(let d) = ropeScaling, d.count != headDim / 2 {
            throw SpQRError(
                .fileFormat,
                "\(path): rope_freqs.weight has \(d.count) values; head dim \(headDim) needs \(headDim / 2)")
        }
    }

    /// Rotary inverse frequencies inv_freq[i] = 1 / θ^(2i / headDim) in float32 as transformers computes
    /// them, then rescaled.
    public func inverseFrequencies() -> [Float] {
        let half = headDim / 2
        let base = Float(ropeTheta)
        return (0..<half).map { i -> Float in
            let f = 1 / Float(pow(Double(base), Double(Float(2 * i) / Float(headDim))))
            switch ropeScaling {
            case .none: return f
            case .linear(let factor): return f / Float(factor)
            case .divisors(let d): return f / d[i]
            case .llama3(let factor, let low, let high, let original):
                let wavelen = 2 * Double.pi / Double(f)
                let lowWavelen = original / low
                let highWavelen = original / high
                if wavelen < highWavelen { return f }
                if wavelen > lowWavelen { return f / Float(factor) }
                let smooth = Float((original / wavelen - low) / (high - low))
                return (1 - smooth) * f / Float(factor) + smooth * f
            }
        }
    }
}

extension ModelConfig {
    /// The transformers class of each family.
    static let architectures = [
        "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
    ]

    /// A transformers config.json object for the model (what `huggingFace(configPath:)` reads back): the
    /// architecture and model_type of the family, the dimensions, rms_norm_eps (the shortest decimal of the
    /// float32), rope_theta, rope_scaling (LLaMA 3 divisors from a GGUF are turned back into llama3 parameters
    /// with low_freq_factor 1, which gives the same frequencies), vocab_size, tie_word_embeddings,
    /// attention_bias, and, when known, max_position_embeddings, sliding_window and the BOS/EOS ids.
    public func huggingFaceConfig() -> [String: Any] {
        var c: [String: Any] = [
            "architectures": [Self.architectures[family] ?? family], "model_type": family, "hidden_act": "silu",
            "hidden_size": hidden, "intermediate_size": intermediate, "num_hidden_layers": blocks,
            "num_attention_heads": heads, "num_key_value_heads": kvHeads, "head_dim": headDim,
            "rms_norm_eps": Double("\(rmsEps)") ?? Double(rmsEps), "rope_theta": ropeTheta, "vocab_size": vocabulary,
            "tie_word_embeddings": tiedEmbeddings, "attention_bias": attentionBias,
        ]
        if family == "llama" { c["mlp_bias"] = false }
        if family == "qwen2" { c["use_sliding_window"] = false }
        if let maxPositions { c["max_position_embeddings"] = maxPositions }
        if let slidingWindow { c["sliding_window"] = slidingWindow }
        if let bosTokenID { c["bos_token_id"] = bosTokenID }
        if let eosTokenID { c["eos_token_id"] = eosTokenID }
        switch ropeScaling {
        case .none: break
        case .linear(let factor): c["rope_scaling"] = ["rope_type": "linear", "factor": factor]
        case .llama3(let factor, let low, let high, let original):
            c["rope_scaling"] = Self.llama3Scaling(factor: factor, low: low, high: high, original: original)
        case .divisors(let d):
            if let fit = llama3Parameters(divisors: d) {
                c["rope_scaling"] = Self.llama3Scaling(
                    factor: fit.factor, low: 1, high: fit.high, original: fit.original)
            }
        }
        return c
    }

    static func llama3Scaling(factor: Double, low: Double, high: Double, original: Double) -> [String: Any] {
        [
            "rope_type": "llama3", "factor": factor, "low_freq_factor": low, "high_freq_factor": high,
            "original_max_position_embeddings": Int(original.rounded()),
        ]
    }

    /// LLaMA 3 parameters giving the per-frequency divisors `d`: factor = max d; between the unscaled and
    /// the fully scaled frequencies 1/d = (1 − s)/factor + s with s = (original·f/2π − low)/(high − low),
    /// linear in f = inv_freq. Only the ratios of original, low and high matter, so low is fixed at 1 and
    /// the line through the first and last smoothly scaled frequencies gives high and original. nil when
    /// fewer than two frequencies are smoothly scaled or the fit does not reproduce every divisor to 1e-3.
    func llama3Parameters(divisors d: [Float]) -> (factor: Double, high: Double, original: Double)? {
        var plain = self
        plain.ropeScaling = .none
        let f = plain.inverseFrequencies().map(Double.init)
        guard let factor = d.max().map(Double.init), factor > 1, f.count == d.count else { return nil }
        let smooth = d.indices.filter { Double(d[$0]) > 1 + 1e-6 && Double(d[$0]) < factor * (1 - 1e-6) }
        guard let i = smooth.first, let j = smooth.last, i != j else { return nil }
        let s = { (k: Int) in (1 / Double(d[k]) - 1 / factor) / (1 - 1 / factor) }
        let slope = (s(j) - s(i)) / (f[j] - f[i])
        let intercept = s(i) - slope * f[i]
        guard intercept < 0 else { return nil }
        let high = 1 - 1 / intercept
        let original = slope * 2 * Double.pi * (high - 1)
        var check = self
        check.ropeScaling = .llama3(factor: factor, lowFreqFactor: 1, highFreqFactor: high, originalContext: original)
        let ok = zip(check.inverseFrequencies(), f).enumerated().allSatisfy { k, pair in
            abs(Double(pair.0) * Double(d[k]) / pair.1 - 1) <= 1e-3
        }
        return ok ? (factor, high, original) : nil
    }
}
