// ByteReader walks headers through a window of `ByteReader.windowBytes`: values that straddle a refill,
// strings longer than the window and reads after a long skip come back exactly as written.

import Foundation
import Testing

@testable import SpQRCore

@Suite("ByteReader windows")
struct ByteReaderTests {
    @Test(
        "a GGUF header over three windows long (a 7000-string array, a string longer than a window) reads back value for value"
    )
    func largeHeader() throws {
        // 7000 strings of 501 bytes, so that string boundaries fall at every offset modulo the window.
        let words = (0..<7000).map { i in
            String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: 500) + "\(i % 10)"
        }
        var array = ggufString("tokenizer.ggml.tokens") + le(UInt32(9)) + le(UInt32(8)) + le(UInt64(words.count))
        for w in words { array += ggufString(w) }
        let long = String(repeating: "z", count: ByteReader.windowBytes + 3)
        let after = ggufString("general.name") + le(UInt32(8)) + ggufString(long)
        let count = ggufString("llama.block_count") + le(UInt32(4)) + le(UInt32(0xDEAD_BEEF))
        let bytes = ggufBytes(
            kv: [array, after, count], tensors: [("w", [4], 0, 0)], data: (0..<4).flatMap { le(Float($0).bitPattern) })
        #expect(bytes.count > 3 * ByteReader.windowBytes)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("big.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let g = try GGUFFile(path: path)
        #expect(g.metadata["tokenizer.ggml.tokens"]?.arrayValue?.strings == words)
        #expect(g.metadata["tokenizer.ggml.tokens"]?.arrayValue?[6999] == .string(words[6999]))
        #expect(g.metadata["general.name"]?.stringValue == long)
        #expect(g.metadata["llama.block_count"]?.intValue == 0xDEAD_BEEF)
        #expect(try g.floats("w") == [0, 1, 2, 3])
    }
}
