// Writing a GGUF checkpoint back as a GGUF v3 file with some weight matrices replaced (the layout is in
// GGUF.swift, the value encoding beside its decoding in GGUFMetadata.swift):
//
//   header  "GGUF", u32 3, u64 tensor_count, u64 kv_count, every key-value pair of the source in its order
//           and with its stored type, then every tensor info in the source's order with the source's name;
//           offsets are assigned one after another, each tensor padded to `general.alignment` (as ggml's
//           gguf.cpp and gguf-py's GGUFWriter do), so the whole header is known from the sizes alone
//   data    replaced tensors as F16 (rounded to nearest even) or F32, with q/k rows of the llama family
//           returned to llama.cpp's rotary order (`GGUFCheckpoint.rotaryOrder`, the inverse of what the
//           reader does); every other tensor copied byte for byte in its stored type
//
// `general.file_type`: llama.cpp's converter (convert_hf_to_gguf.py, `add_file_type(self.ftype)` in
// `set_gguf_parameters`) always writes the output type it was asked for as a u32, MOSTLY_F16 = 1 for
// `--outtype f16` and ALL_F32 = 0 for `--outtype f32`, and with those types it stores every tensor of two
// or more dimensions as F16 (resp. every tensor as F32). The written file gets that value when it is such a
// file: every tensor of 2+ dimensions (F16) or every tensor (F32) in the chosen type. Any other result
// (a quantized source with only some matrices replaced) is a mix no converter writes; it keeps the
// source's value, which still names the type of the tensors that were not replaced; so does a file with
// nothing replaced, which is a copy of the source. The key only labels
// the file (llama.cpp's loader prints it; every tensor carries its own type).
//
// The file is streamed: one tensor in memory at a time, written to a temporary file beside the target that
// is flushed and renamed only when complete (`AtomicFileStream`); any failure or a cancellation removes it.

import Foundation

/// The element type of the replaced matrices in a written GGUF file.
public enum GGUFWeightType: String, Sendable, CaseIterable {
    case f16, f32

    /// The ggml type written.
    public var ggmlType: GGMLType { self == .f16 ? .F16 : .F32 }

    /// llama.cpp's `LLAMA_FTYPE_*` for a file of this type (MOSTLY_F16 = 1, ALL_F32 = 0).
    public var llamaFileType: UInt64 { self == .f16 ? 1 : 0 }

    var dtype: SafetensorsDType { self == .f16 ? .F16 : .F32 }
}

/// Writes a GGUF checkpoint with some weight matrices replaced.
public enum GGUFModelWriter {
    /// The metadata key naming the file's predominant type.
    static let fileTypeKey = "general.file_type"

    /// Writes `source` to `path` as a GGUF v3 file with the tensors named in `replacing` stored as
    /// `weightType` (q/k rows back in llama.cpp's rotary order) and everything else as in the source.
    /// Nothing appears at `path` unless the whole file was written; `progress` receives (tensors written,
    /// tensor count).
    public static func write(
        source: GGUFCheckpoint, replacing: TensorReplacements, weightType: GGUFWeightType, to path: String,
        cancel: CancellationToken? = nil, progress: ((Int, Int) -> Void)? = nil
    ) throws {
        let file = source.file
        let replaced = try replacing.entries(in: source)
        // The layout of the written file.
        var tensors: [(source: GGUFTensorInfo, type: GGMLType, offset: Int, bytes: Int)] = []
        var offset = 0
        for t in file.tensors {
            let type = replaced[t.name] != nil ? weightType.ggmlType : t.type
            let bytes = replaced[t.name] != nil ? t.elementCount * type.bytesPerBlock : t.byteCount
            tensors.append((t, type, offset, bytes))
            offset += padded(bytes, file.alignment)
        }
        var keys = file.metadataKeys
        var values = file.metadata
        let isPlainFile = tensors.allSatisfy {
            $0.type == weightType.ggmlType || (weightType == .f16 && $0.source.dimensions.count < 2)
        }
        if isPlainFile && !replaced.isEmpty {
            values[fileTypeKey] = .uint(weightType.llamaFileType)
            if let i = keys.firstIndex(where: { $0.key == fileTypeKey }) {
                keys[i].type = .uint32
            } else {
                keys.append((fileTypeKey, .uint32))
            }
        }
        var header: [UInt8] = Array("GGUF".utf8)
        append(UInt32(3), to: &header)
        append(UInt64(tensors.count), to: &header)
        append(UInt64(keys.count), to: &header)
        for (key, type) in keys {
            GGUFValue.encode(string: key, into: &header)
            append(type.rawValue, to: &header)
            try values[key]!.encode(as: type, key: key, into: &header)
        }
        for t in tensors {
            GGUFValue.encode(string: t.source.name, into: &header)
            append(UInt32(t.source.dimensions.count), to: &header)
            for d in t.source.dimensions { append(UInt64(d), to: &header) }
            append(t.type.rawValue, to: &header)
            append(UInt64(t.offset), to: &header)
        }
        header += [UInt8](repeating: 0, count: padded(header.count, file.alignment) - header.count)

        let out = try AtomicFileStream(path: path)
        do {
            try header.withUnsafeBytes { try out.write($0) }
            let zeros = [UInt8](repeating: 0, count: file.alignment)
            for (i, t) in tensors.enumerated() {
                try cancel?.check()
                if let entry = replaced[t.source.name] {
                    var m = try replacing.matrix(for: entry, source: source.path)
                    if let heads = try source.rotaryHeads(of: t.source) {
                        m = GGUFCheckpoint.rotaryOrder(m, heads: heads)
                    }
                    try FloatConversion.encode(m.values, as: weightType.dtype) { try out.write($0) }
                } else {
                    try out.copy(
                        from: file.bytes, at: file.dataStart + t.source.offset, count: t.bytes,
                        what: "tensor \"\(t.source.name)\"", cancel: cancel)
                }
                try zeros.withUnsafeBytes {
                    try out.write(UnsafeRawBufferPointer(rebasing: $0[0..<(padded(t.bytes, file.alignment) - t.bytes)]))
                }
                progress?(i + 1, tensors.count)
            }
            try out.finish()
        } catch {
            out.abandon()
            throw error
        }
    }

    private static func padded(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    private static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }
}
