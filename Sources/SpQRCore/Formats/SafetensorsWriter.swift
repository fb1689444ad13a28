// Writing safetensors files (the layout `Safetensors.swift` reads): the JSON header with tensors in
// the order given, their data offsets laid end to end, padded with spaces so that the data section
// starts on an 8-byte boundary (as the reference writer does), then the data; written atomically
// (`AtomicFile`).

import Foundation

/// Writes safetensors files atomically (temporary file in the same directory, then rename).
public enum SafetensorsWriter {
    /// A tensor to write: name, dtype, shape and its little-endian bytes.
    public struct Tensor {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        public let bytes: Data

        public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: Data) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// An F32 tensor.
        public static func f32(_ name: String, shape: [Int], _ values: [Float]) -> Tensor {
            Tensor(name: name, dtype: .F32, shape: shape, bytes: values.withUnsafeBufferPointer { Data(buffer: $0) })
        }

        /// A U8 tensor.
        public static func u8(_ name: String, shape: [Int], _ values: [UInt8]) -> Tensor {
            Tensor(name: name, dtype: .U8, shape: shape, bytes: Data(values))
        }

        /// An I64 tensor.
        public static func i64(_ name: String, shape: [Int], _ values: [Int]) -> Tensor {
            let v = values.map { Int64($0).littleEndian }
            return Tensor(name: name, dtype: .I64, shape: shape, bytes: v.withUnsafeBufferPointer { Data(buffer: $0) })
        }
    }

    /// The complete file contents.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) throws -> Data {
        var out = try header(tensors.map { ($0.name, $0.dtype, $0.shape, $0.bytes.count) }, metadata: metadata)
        out.reserveCapacity(out.count + tensors.reduce(0) { $0 + $1.bytes.count })
        for t in tensors { out.append(t.bytes) }
        return out
    }

    /// Writes the file atomically; on failure nothing is left behind and an existing file is untouched.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: path)
    }
}
