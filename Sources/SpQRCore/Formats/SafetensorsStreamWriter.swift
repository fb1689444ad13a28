// Writing a safetensors file whose tensors are produced one after another (too large to hold together):
// the header (8-byte little-endian length, JSON padded with spaces to a multiple of 8) is fixed up front
// from the names, dtypes and shapes, the data follow in the declared order (F32 values, or the raw
// little-endian bytes of any dtype), and the file appears at its path only when complete (temporary file
// beside it, fsync, rename), as `AtomicFile` does for whole files.

import Foundation

extension SafetensorsWriter {
    /// The header bytes for tensors laid out one after another in the given order.
    static func header(
        _ entries: [(name: String, dtype: SafetensorsDType, shape: [Int], bytes: Int)],
        metadata: [String: String]
    ) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for t in entries {
            guard t.name != "__metadata__", header[t.name] == nil else {
                throw SpQRError(
                    .invalidSetting, "safetensors writer: tensor name \"\(t.name)\" is reserved or used twice")
            }
            guard let count = checkedProduct(t.shape), t.dtype.byteCount(elements: count) == t.bytes else {
                throw SpQRError(
                    .invalidSetting,
                    "safetensors writer: tensor \"\(t.name)\" has \(t.bytes) bytes for shape \(t.shape) of \(t.dtype)")
            }
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes]]
            offset += t.bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data()
        var len = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
        out.append(json)
        return out
    }
}

/// A safetensors file written one tensor at a time, atomically.
public final class SafetensorsStreamWriter {
    public let path: String
    private let file: AtomicFileStream
    private var pending: [(name: String, dtype: SafetensorsDType, count: Int, bytes: Int)]

    /// Creates the temporary file and writes the header for F32 `tensors` (name, shape), in the order
    /// their data will be appended.
    public convenience init(path: String, tensors: [(String, [Int])], metadata: [String: String]) throws {
        try self.init(path: path, typed: tensors.map { ($0.0, .F32, $0.1) }, metadata: metadata)
    }

    /// Creates the temporary file and writes the header for `typed` tensors (name, dtype, shape), in the
    /// order their data will be appended. Every dtype must have a whole number of bytes per tensor.
    public init(path: String, typed: [(String, SafetensorsDType, [Int])], metadata: [String: String]) throws {
        self.path = path
        let entries = typed.map {
            (name: $0.0, dtype: $0.1, shape: $0.2, bytes: checkedProduct($0.2).flatMap($0.1.byteCount) ?? -1)
        }
        let header = try SafetensorsWriter.header(entries, metadata: metadata)
        pending = entries.map { ($0.name, $0.dtype, checkedProduct($0.shape) ?? 0, $0.bytes) }
        file = try AtomicFileStream(path: path)
        try header.withUnsafeBytes { try file.write($0) }
    }

    /// Appends the next tensor's values (an F32 tensor).
    public func append(_ values: UnsafeBufferPointer<Float>) throws {
        guard let next = pending.first else {
            throw SpQRError(.invalidSetting, "\(path): more tensors written than declared")
        }
        guard next.dtype == .F32, partialBytes == 0 else {
            throw SpQRError(.invalidSetting, "\(path): tensor \(next.name) is declared \(next.dtype), not F32")
        }
        guard values.count == next.count else {
            throw SpQRError(
                .invalidSetting, "\(path): tensor \(next.name) needs \(next.count) values, \(values.count) given")
        }
        pending.removeFirst()
        #if _endian(little)
            try file.write(UnsafeRawBufferPointer(values))
        #else
            let le = values.map { $0.bitPattern.littleEndian }
            try le.withUnsafeBytes { try file.write($0) }
        #endif
    }

    /// Appends the next tensor's bytes as stored (little-endian, its declared dtype), possibly over several
    /// calls: each call's bytes continue the current tensor until it is complete.
    public func appendBytes(_ raw: UnsafeRawBufferPointer) throws {
        var rest = raw
        while !rest.isEmpty {
            guard let next = pending.first else {
                throw SpQRError(.invalidSetting, "\(path): more bytes written than the declared tensors hold")
            }
            let n = min(rest.count, next.bytes - partialBytes)
            try file.write(UnsafeRawBufferPointer(rebasing: rest[..<n]))
            partialBytes += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if partialBytes == next.bytes {
                pending.removeFirst()
                partialBytes = 0
            }
        }
    }

    /// Appends the next tensor as `count` bytes of `source` from byte `offset` (its stored bytes), a chunk
    /// at a time, checking `cancel` between chunks.
    public func appendBytes(
        from source: FileBytes, at offset: Int, count: Int, what: String, cancel: CancellationToken? = nil
    ) throws {
        guard let next = pending.first, partialBytes == 0, next.bytes == count else {
            throw SpQRError(
                .invalidSetting,
                "\(path): \(count) bytes of \(what) do not match the next declared tensor \(pending.first?.name ?? "(none)")"
            )
        }
        try file.copy(from: source, at: offset, count: count, what: what, cancel: cancel)
        pending.removeFirst()
    }

    /// Bytes of the current tensor already written through `appendBytes`.
    private var partialBytes = 0

    /// Flushes and renames the file into place once every declared tensor was appended.
    public func finish() throws {
        guard pending.isEmpty else {
            file.abandon()
            throw SpQRError(.invalidSetting, "\(path): \(pending.count) declared tensors were not written")
        }
        try file.finish()
    }

    /// Removes the temporary file (after a failure or cancellation).
    public func abandon() { file.abandon() }
}
