// Files truncated by another process while they are open: every reader gets a clear SpQRError naming
// the file (pread returns short), never SIGBUS (which a memory map would raise and which would end this
// test process).

import Foundation
import Testing

@testable import SpQRCore

@Suite("Files truncated while open")
struct TruncatedFileTests {
    /// Cuts the file at `path` to `size` bytes, as another process would.
    static func cut(_ path: String, to size: Int) throws {
        guard truncate(path, off_t(size)) == 0 else { throw SpQRError(.io, "\(path): truncate failed") }
    }

    /// The first byte after a safetensors file's header.
    static func dataStart(_ path: String) throws -> Int {
        let head = try FileBytes(path: path).bytes(at: 0, count: 8, what: "header length")
        return 8 + Int(head.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
    }

    /// `body` must throw the short-read error for `path`, saying how large the file is now.
    static func expectTruncated(_ path: String, nowBytes: Int, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(path): read a truncated file without an error")
        } catch let e as SpQRError {
            #expect(e.kind == .io, "\(e.message)")
            #expect(e.message.hasPrefix(path + ": "), "\(e.message)")
            #expect(e.message.contains("the file is now \(nowBytes) bytes"), "\(e.message)")
            #expect(e.message.contains("truncated or rewritten while open"), "\(e.message)")
        } catch {
            Issue.record("not an SpQRError: \(error)")
        }
    }

    static func copyFixture(_ name: String, to dir: URL) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: "\(fixtures)/\(name)", toPath: path)
        return path
    }

    @Test("safetensors: matrix, floats and statistics of a cut file fail with the file's name")
    func safetensors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        try SafetensorsWriter.write(
            [
                .f32("a.weight", shape: [4, 8], (0..<32).map(Float.init)),
                .f32("b.weight", shape: [4, 8], (0..<32).map { -Float($0) }),
            ], to: path)
        let c = try SafetensorsCheckpoint(path: path)
        let start = try Self.dataStart(path)
        // a.weight stays whole; half of b.weight goes.
        try Self.cut(path, to: start + 128 + 64)
        #expect(try c.matrix("a.weight").values == (0..<32).map(Float.init))
        Self.expectTruncated(path, nowBytes: start + 192) { _ = try c.matrix("b.weight") }
        Self.expectTruncated(path, nowBytes: start + 192) { _ = try c.statistics("b.weight") }
        Self.expectTruncated(path, nowBytes: start + 192) { _ = try c.file.floats("b.weight", elements: 16..<32) }
        #expect(try c.file.floats("b.weight", elements: 0..<16) == (0..<16).map { -Float($0) })
    }

    @Test("sharded safetensors: the message names the shard that was cut")
    func sharded() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = dir.appendingPathComponent("model-00001-of-00002.safetensors").path
        let two = dir.appendingPathComponent("model-00002-of-00002.safetensors").path
        try SafetensorsWriter.write([.f32("a.weight", shape: [2, 4], (0..<8).map(Float.init))], to: one)
        try SafetensorsWriter.write([.f32("b.weight", shape: [2, 4], (0..<8).map(Float.init))], to: two)
        let c = try ModelFiles.openCheckpoint(dir.path)
        let start = try Self.dataStart(two)
        try Self.cut(two, to: start)
        Self.expectTruncated(two, nowBytes: start) { _ = try c.matrix("b.weight") }
        Self.expectTruncated(two, nowBytes: start) { _ = try c.statistics("b.weight") }
        #expect(try c.matrix("a.weight").values == (0..<8).map(Float.init))
    }

    @Test("GGUF: every quantizable tensor of a file cut to its header fails with the file's name")
    func gguf() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.copyFixture("llama-tiny.gguf", to: dir)
        let c = try GGUFCheckpoint(path: path)
        let quantizable = c.tensors.filter(\.isQuantizable)
        #expect(!quantizable.isEmpty)
        try Self.cut(path, to: 64)
        for t in quantizable {
            Self.expectTruncated(path, nowBytes: 64) { _ = try c.matrix(t.name) }
            Self.expectTruncated(path, nowBytes: 64) { _ = try c.statistics(t.name) }
        }
    }

    @Test("Hessian files: a cut file fails when the Hessian is read")
    func hessianFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for packed in [false, true] {
            let path = dir.appendingPathComponent("h\(packed).safetensors").path
            let h = Matrix(rows: 3, cols: 3, values: [2, 1, 0, 1, 2, 1, 0, 1, 2])
            try HessianFileCalibration.write(
                hessians: ["hessian.l": h], layers: ["l.weight": "hessian.l"], provenance: [:],
                packed: packed, to: path)
            let cal = try HessianFileCalibration(path: path)
            let start = try Self.dataStart(path)
            try Self.cut(path, to: start + 4)
            Self.expectTruncated(path, nowBytes: start + 4) { _ = try cal.hessian(forLayer: "l.weight", inFeatures: 3) }
        }
    }

    @Test(".npy activations: the matrix and the Hessian of a cut file fail with the file's name")
    func npy() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.copyFixture("activations.npy", to: dir)
        let array = try NumpyArray(path: path)
        let cal = try ActivationsCalibration(path: path)
        let size = array.file.size
        try Self.cut(path, to: size - 4)
        Self.expectTruncated(path, nowBytes: size - 4) { _ = try array.matrix() }
        Self.expectTruncated(path, nowBytes: size - 4) { _ = try cal.hessian(forLayer: "l", inFeatures: 4) }
    }

    @Test("activations in safetensors: a cut file fails with the file's name")
    func safetensorsActivations() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.safetensors").path
        try SafetensorsWriter.write([.f32("x", shape: [6, 4], (0..<24).map { Float($0 % 5) })], to: path)
        let cal = try ActivationsCalibration(path: path, tensor: "x")
        let start = try Self.dataStart(path)
        try Self.cut(path, to: start + 40)
        Self.expectTruncated(path, nowBytes: start + 40) { _ = try cal.hessian(forLayer: "l", inFeatures: 4) }
    }

    @Test(
        "importance matrices are read whole when opened: cutting the file later changes nothing",
        arguments: ["tiny.imatrix", "tiny.imatrix.gguf"])
    func imatrix(file: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.copyFixture(file, to: dir)
        let m = try ImportanceMatrixCalibration(path: path)
        let before = m.meanSquares
        try Self.cut(path, to: 0)
        let layers = before.filter { !$0.value.isEmpty && m.entries[$0.key]?.matrices == 1 }
        #expect(!layers.isEmpty)
        for (name, v) in layers {
            #expect(
                try m.hessian(forLayer: name, inFeatures: v.count).values
                    == Hessian.fromDiagonal(v.map { 2 * $0 }).values)
        }
        // Opened after the cut, the file is refused with its name.
        #expect(throws: SpQRError.self) { try ImportanceMatrixCalibration(path: path) }
    }

    @Test("FileBytes: a read past the current end names the bytes, the old and the new size")
    func fileBytes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("f.bin").path
        try Data((0..<100).map { UInt8($0) }).write(to: URL(fileURLWithPath: path))
        let f = try FileBytes(path: path)
        #expect(try f.bytes(at: 90, count: 10, what: "tail") == Array(90..<100))
        try Self.cut(path, to: 50)
        #expect(f.size == 100 && f.currentSize == 50)
        #expect(
            errorMessage(path: path) { _ = try f.bytes(at: 40, count: 20, what: "the tail") }
                == "the tail (bytes 40..<60) cannot be read: the file is now 50 bytes, 100 when it was opened; it was truncated or rewritten while open. Open it again once it is complete"
        )
        #expect(try f.bytes(at: 0, count: 50, what: "head") == Array(0..<50))
    }
}
