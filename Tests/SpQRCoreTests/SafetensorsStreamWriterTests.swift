// The streaming safetensors writer: the same bytes as the whole-file writer, and nothing at the path
// unless every declared tensor was written.

import Foundation
import XCTest

@testable import SpQRCore

final class SafetensorsStreamWriterTests: XCTestCase {
    let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [-0.5, 7]

    func path() -> String {
        NSTemporaryDirectory() + "spqr-stream-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).safetensors"
    }

    func testSameBytesAsTheWholeFileWriter() throws {
        let p = path()
        defer { unlink(p) }
        let meta = ["format": "x", "layers": "{\"w\": \"a\"}"]
        let w = try SafetensorsStreamWriter(path: p, tensors: [("a", [2, 3]), ("b", [2])], metadata: meta)
        try a.withUnsafeBufferPointer { try w.append($0) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: p))
        try b.withUnsafeBufferPointer { try w.append($0) }
        try w.finish()
        let expected = try SafetensorsWriter.encode(
            [.f32("a", shape: [2, 3], a), .f32("b", shape: [2], b)], metadata: meta)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)), expected)
        XCTAssertEqual(try SafetensorsFile(path: p).floats("b"), b)
    }

    func testIncompleteOrWrongSizedWritesLeaveNoFile() throws {
        let p = path()
        let dir = (p as NSString).deletingLastPathComponent
        let before = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("spqr-stream") }
        do {
            let w = try SafetensorsStreamWriter(path: p, tensors: [("a", [2, 3]), ("b", [2])], metadata: [:])
            XCTAssertThrowsError(try b.withUnsafeBufferPointer { try w.append($0) }) { e in
                XCTAssertTrue((e as! SpQRError).message.contains("needs 6 values, 2 given"), "\(e)")
            }
            XCTAssertThrowsError(try w.finish()) { e in
                XCTAssertTrue((e as! SpQRError).message.contains("2 declared tensors were not written"), "\(e)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: p))
        let after = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("spqr-stream") }
        XCTAssertEqual(after, before, "temporary files left behind")
    }

    func testTypedTensorsFromBytesInPieces() throws {
        let p = path()
        defer { unlink(p) }
        let w = try SafetensorsStreamWriter(
            path: p, typed: [("h", .F16, [3]), ("i", .I32, [2]), ("f", .F32, [2])], metadata: ["format": "pt"])
        let halves: [UInt16] = [0x3C00, 0xC000, 0x3800]  // 1, -2, 0.5
        let ints: [Int32] = [7, -9]
        var bytes = halves.withUnsafeBytes { Array($0) } + ints.withUnsafeBytes { Array($0) }
        XCTAssertThrowsError(try b.withUnsafeBufferPointer { try w.append($0) }) { e in
            XCTAssertTrue((e as! SpQRError).message.contains("declared F16, not F32"), "\(e)")
        }
        try bytes[..<5].withUnsafeBytes { try w.appendBytes($0) }
        try bytes[5...].withUnsafeBytes { try w.appendBytes($0) }
        try b.withUnsafeBufferPointer { try w.append($0) }
        bytes = [0]
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try w.appendBytes($0) }) { e in
            XCTAssertTrue((e as! SpQRError).message.contains("more bytes written"), "\(e)")
        }
        try w.finish()
        let f = try SafetensorsFile(path: p)
        XCTAssertEqual(try f.floats("h"), [1, -2, 0.5])
        XCTAssertEqual(try f.floats("f"), b)
        XCTAssertEqual(try f.info("i").dtypeName, "I32")
    }
}
