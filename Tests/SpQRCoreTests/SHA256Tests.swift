// SHA-256 against the FIPS 180-4 / NIST example vectors.

import Foundation
import Testing

@testable import SpQRCore

@Suite("SHA-256")
struct SHA256Tests {
    func digest(_ s: String) -> String {
        var h = SHA256()
        h.update(Data(s.utf8))
        return h.hexDigest()
    }

    @Test func nistVectors() {
        #expect(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("a million 'a's, fed in uneven pieces")
    func millionA() {
        var h = SHA256()
        let chunk = Data(repeating: UInt8(ascii: "a"), count: 999)
        var left = 1_000_000
        while left > 0 {
            let n = min(left, chunk.count)
            h.update(chunk.prefix(n))
            left -= n
        }
        #expect(h.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("copies hash independently, and a digest can be taken midway")
    func valueSemantics() {
        var a = SHA256()
        a.update(Data("ab".utf8))
        var b = a
        b.update(Data("c".utf8))
        a.update(Data("x".utf8))
        #expect(b.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(a.hexDigest() == "b2bdab4230154046ad0b7dfa830a9260caa5bd6ae230e582a2244ab4bf0b4ca5")
        b.update(Data("def".utf8))
        #expect(b.hexDigest() == "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721")
    }

    @Test("a 10 MB file read in several steps matches Python's hashlib")
    func largeFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)").path
        try Data((0..<10_000_019).map { UInt8($0 % 251) }).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var steps = 0
        #expect(
            try SHA256.file(path, progress: { _ in steps += 1 })
                == "48748b7d73975f98bf4d6044fbf53c7b3bbf9bcb031a16a07f6df87631e058cb")
        #expect(steps == 3)
    }

    @Test func fileHash() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)").path
        try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SHA256.file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite("File digests")
struct FileDigestTests {
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    func temporaryFile(_ contents: Data) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(UUID().uuidString)").path
        try contents.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a file hashed in small chunks reports every byte once and checks the stop condition between chunks")
    func chunkedProgress() throws {
        let path = try temporaryFile(Data(repeating: UInt8(ascii: "a"), count: 1_000_000))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var steps: [Int] = []
        let d = try SHA256.file(path, chunk: 300_000, stop: { false }) { steps.append($0) }
        #expect(d == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(steps == [300_000, 300_000, 300_000, 100_000])
        var checks = 0
        #expect(throws: SpQRError.cancelled) {
            _ = try SHA256.file(
                path, chunk: 300_000,
                stop: {
                    checks += 1
                    return checks > 2
                }, progress: nil)
        }
        #expect(checks == 3)
    }

    @Test("several files are hashed in order, with progress up to their total, and kept until they change")
    func memo() throws {
        let a = try temporaryFile(Data("abc".utf8))
        let b = try temporaryFile(Data())
        let c = try temporaryFile(Data("abc".utf8))
        defer { for p in [a, b, c] { try? FileManager.default.removeItem(atPath: p) } }
        let digests = FileDigests()
        let seen = Locked<[(Int, Int)]>([])
        #expect(
            try digests.digests(of: [a, b, c]) { d, t in seen.withLock { $0.append((d, t)) } } == [abc, empty, abc])
        #expect(seen.withLock { $0.map(\.1) }.allSatisfy { $0 == 6 })
        #expect(seen.withLock { $0.map(\.0).max() } == 6)
        #expect(digests.cached(a) == abc)

        // Unchanged files are not read again: no progress at all.
        seen.withLock { $0.removeAll() }
        #expect(try digests.digests(of: [c, a]) { d, t in seen.withLock { $0.append((d, t)) } } == [abc, abc])
        #expect(seen.withLock { $0.isEmpty })

        // A changed file (new size) is hashed again; the others still come from the memo.
        try Data("abcd".utf8).write(to: URL(fileURLWithPath: a))
        #expect(digests.cached(a) == nil)
        #expect(
            try digests.digests(of: [a, c]) { d, t in seen.withLock { $0.append((d, t)) } }
                == ["88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589", abc])
        #expect(seen.withLock { $0.map(\.1) }.allSatisfy { $0 == 4 })
    }

    @Test("a cancelled run throws 'cancelled' and remembers nothing")
    func cancelled() throws {
        let a = try temporaryFile(Data("abc".utf8))
        defer { try? FileManager.default.removeItem(atPath: a) }
        let digests = FileDigests()
        let token = CancellationToken()
        token.cancel()
        #expect(throws: SpQRError.cancelled) { _ = try digests.digests(of: [a], cancel: token) }
        #expect(digests.cached(a) == nil)
        #expect(try digests.digest(a) == abc)
    }

    @Test("a missing file is named in the error, and the files before it are not remembered")
    func missing() throws {
        let a = try temporaryFile(Data("abc".utf8))
        defer { try? FileManager.default.removeItem(atPath: a) }
        let digests = FileDigests()
        let error = #expect(throws: SpQRError.self) {
            _ = try digests.digests(of: [a, "/nonexistent/shard-2.safetensors"])
        }
        #expect(error?.kind == .io)
        #expect(error?.message.contains("/nonexistent/shard-2.safetensors") == true)
        #expect(digests.cached(a) == nil)
    }
}
