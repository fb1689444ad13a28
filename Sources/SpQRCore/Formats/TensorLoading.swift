// Loading any tensor of a checkpoint (weights, norms, biases; float, GGML block-quantized or spqr-hf) from its file
// (read with pread, a chunk at a time) straight into a caller's float32 buffer, so that a model runtime
// converts one block of weights at a time into buffers it reuses instead of allocating an array per tensor.
//
// Values are those of `Checkpoint.matrix` (same conversion, same rotary row order for GGUF q/k of the
// llama family, see GGUFCheckpoint.swift), for tensors of any rank.

import Foundation

extension Checkpoint {
    /// Converts tensor `name` (user-facing or stored name) to Float into `buffer`, which must hold exactly its
    /// element count. GGUF q/k rows of the llama family come back in the Hugging Face order (this needs a
    /// scratch copy of that one tensor).
    public func load(_ name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let e = try entry(name)
        guard e.elementCount == buffer.count else {
            throw SpQRError(
                .shapeMismatch,
                "\(path): tensor \"\(name)\" has \(e.elementCount) values (shape \(e.shape)); \(buffer.count) were expected"
            )
        }
        switch self {
        case let c as GGUFCheckpoint:
            try c.loadGGUF(e, into: buffer)
        case let c as SafetensorsCheckpoint:
            try Self.loadSafetensors(c.file, e.storedName, into: buffer)
        case let c as SafetensorsDirectoryCheckpoint:
            try Self.loadSafetensors(try c.shard(of: e).file, e.storedName, into: buffer)
        case let c as SpQRHFCheckpoint where c.modules[e.name] != nil:
            _ = buffer.update(fromContentsOf: try c.layer(e.name).dequantized().values)
        case let c as SpQRHFCheckpoint:
            try Self.loadSafetensors(try c.files.shard(of: e).file, e.storedName, into: buffer)
        default:
            let values = try matrix(name).values
            _ = buffer.update(fromContentsOf: values)
        }
    }

    static func loadSafetensors(_ file: SafetensorsFile, _ name: String, into buffer: UnsafeMutableBufferPointer<Float>)
        throws
    {
        let t = try file.info(name)
        guard let dtype = t.dtype, dtype.isFloat else {
            throw SpQRError(
                .unsupported,
                "\(file.path): tensor \"\(name)\" has dtype \(t.dtypeName); only F32, F16, BF16 and F64 can be converted to Float"
            )
        }
        try file.readFloats(t, dtype: dtype, elements: 0..<buffer.count, into: buffer.baseAddress!)
    }
}

extension GGUFCheckpoint {
    func loadGGUF(_ e: TensorEntry, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let t = try file.info(e.storedName)
        guard let heads = try rotaryHeads(of: t) else {
            try file.readFloats(t, elements: 0..<buffer.count, into: buffer.baseAddress!)
            return
        }
        let stored = try file.floats(t.name)
        stored.withUnsafeBufferPointer { src in
            Self.huggingFaceOrder(
                from: src.baseAddress!, rows: t.shape[0], cols: t.shape[1], heads: heads, into: buffer.baseAddress!)
        }
    }
}
