// Helpers for the file-format tests: the fixture directory (written by tools/make_format_fixtures.py),
// temporary files, hand-built safetensors and GGUF bytes, and the message of an expected error.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

/// A fresh temporary directory.
func temporaryDirectory() throws -> URL {
    URL(fileURLWithPath: try scratchDirectory("spqr-fmt"))
}

/// A safetensors file with the given raw header JSON and `dataBytes` of zeros.
func rawSafetensors(_ header: String, dataBytes: Int = 0, lengthField: UInt64? = nil) -> Data {
    var d = Data()
    var len = (lengthField ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &len) { d.append(contentsOf: $0) }
    d.append(Data(header.utf8))
    d.append(Data(count: dataBytes))
    return d
}

/// Little-endian bytes of an integer.
func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

/// A GGUF string: u64 length and the UTF-8 bytes.
func ggufString(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

/// A GGUF file: header, key-value pairs given as raw bytes (key, type, value), tensor infos, padding to
/// `alignment`, then `data`.
func ggufBytes(
    version: UInt32 = 3, kv: [[UInt8]] = [],
    tensors: [(name: String, dims: [UInt64], type: UInt32, offset: UInt64)] = [],
    alignment: Int = 32, data: [UInt8] = []
) -> [UInt8] {
    var out = Array("GGUF".utf8) + le(version) + le(UInt64(tensors.count)) + le(UInt64(kv.count))
    for pair in kv { out += pair }
    for t in tensors {
        out += ggufString(t.name) + le(UInt32(t.dims.count))
        for d in t.dims { out += le(d) }
        out += le(t.type) + le(t.offset)
    }
    if !tensors.isEmpty { while out.count % alignment != 0 { out.append(0) } }
    return out + data
}

/// Writes `bytes` to a temporary file named `name` and returns the message of the `SpQRError` that
/// `open` throws for it, with the path (which every message must start with) removed; "no error" when
/// it opens.
func openMessage(_ bytes: [UInt8], name: String = "x.bin", _ open: (String) throws -> Void) throws -> String {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent(name).path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return errorMessage(path: path) { try open(path) }
}

/// The message of the `SpQRError` thrown by `body` with the leading "`path`: " removed ("no error" when
/// nothing is thrown; the message unchanged, marked, when it does not name the file).
func errorMessage(path: String, _ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch let e as SpQRError {
        guard e.message.hasPrefix(path + ": ") else { return "[does not name the file] " + e.message }
        return String(e.message.dropFirst(path.count + 2))
    } catch {
        return "[not an SpQRError] \(error)"
    }
}

/// The safetensors error message for a file with these bytes.
func safetensorsMessage(_ data: Data) throws -> String {
    try openMessage(Array(data), name: "x.safetensors") { _ = try SafetensorsFile(path: $0) }
}
