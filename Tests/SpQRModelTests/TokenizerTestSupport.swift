// Where the tokenizer tests find their inputs: committed fixtures beside this file, the SmolLM2 GGUF in
// the model cache, and llama.cpp's vocabulary test files.

import Foundation

/// Tests/SpQRModelTests/Fixtures.
let modelFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

/// The SmolLM2-135M-Instruct Q4_1 GGUF: $SPQR_SMOLLM2_GGUF, else where scripts/fetch-model.sh caches it
/// ($SPQR_CACHE or ~/.cache/spqr-explorer). Nil (and the tests that need it skip) when neither exists.
let smolLM2GGUF: String? = {
    let env = ProcessInfo.processInfo.environment
    var candidates: [String] = []
    if let p = env["SPQR_SMOLLM2_GGUF"] { candidates.append(p) }
    candidates.append(
        "\(env["SPQR_CACHE"] ?? NSHomeDirectory() + "/.cache/spqr-explorer")/SmolLM2-135M-Instruct.Q4_1.gguf")
    return candidates.first { FileManager.default.fileExists(atPath: $0) }
}()

let smolLM2Missing = "the SmolLM2 GGUF is not present: run scripts/fetch-model.sh or set SPQR_SMOLLM2_GGUF"

/// llama.cpp's models/ directory (ggml-vocab-*.gguf with .inp/.out pairs): $SPQR_LLAMA_CPP_DIR/models.
let llamaCppModels: String? = ProcessInfo.processInfo.environment["SPQR_LLAMA_CPP_DIR"].map { "\($0)/models" }
    .flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
