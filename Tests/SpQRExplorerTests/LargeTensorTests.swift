// A checkpoint with a 100 GB tensor (a sparse file: a valid safetensors header, four values written at
// the start of the data, the rest a hole that takes no disk): statistics run in bounded memory from a
// labelled sample, and everything that would load the tensor whole refuses it with a message, exit 1,
// instead of aborting on the allocation.

import Foundation
import Testing

@testable import SpQRCore

@Suite("A 100 GB tensor")
struct LargeTensorTests {
    static let name = "model.layers.0.mlp.down_proj.weight"
    /// 53 687 091 200 F16 values: 100 GiB on disk, 200 GiB as Float.
    static let shape = [204_800, 262_144]
    static var elements: Int { shape[0] * shape[1] }

    /// Writes the sparse checkpoint into `dir`.
    static func sparseCheckpoint(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("huge.safetensors").path
        var header =
            "{\"\(name)\":{\"dtype\":\"F16\",\"shape\":[\(shape[0]),\(shape[1])],\"data_offsets\":[0,\(2 * elements)]}}"
        while (8 + header.utf8.count) % 8 != 0 { header += " " }
        var head = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { head.append(contentsOf: $0) }
        head.append(Data(header.utf8))
        // 1, −2, 0.5, 4 as F16.
        for bits: UInt16 in [0x3C00, 0xC000, 0x3800, 0x4400] {
            withUnsafeBytes(of: bits.littleEndian) { head.append(contentsOf: $0) }
        }
        try head.write(to: URL(fileURLWithPath: path))
        guard truncate(path, off_t(8 + header.utf8.count + 2 * elements)) == 0 else {
            throw SpQRError(.io, "\(path): cannot make a sparse file here")
        }
        return path
    }

    static func withCheckpoint(_ body: (String) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-huge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(try sparseCheckpoint(in: dir))
    }

    @Test("in process: the matrix is refused with its size; statistics come from a labelled sample")
    func inProcess() throws {
        try Self.withCheckpoint { path in
            #expect(
                MemoryBudget.available() < 4 * Self.elements,
                "this machine could load the tensor; the test needs one that cannot")
            let c = try ModelFiles.openCheckpoint(path)
            do {
                _ = try c.matrix(Self.name)
                Issue.record("a 200 GiB matrix was loaded")
            } catch let e as SpQRError {
                #expect(e.kind == .tooLarge)
                #expect(
                    e.message.hasPrefix(
                        "\(path): tensor \"\(Self.name)\" (\(Self.elements) values as Float) needs 200.0 GiB in memory but only "
                    ), "\(e.message)")
                #expect(e.message.contains("layers --stats"), "\(e.message)")
            }
            let s = try c.statistics(Self.name)
            #expect(s.sampledElements == TensorStatistics.sampleElements)
            #expect(s.maxAbs == 4)
            #expect(abs(s.mean - 3.5 / Double(TensorStatistics.sampleElements)) <= 1e-15)
        }
    }

    @Test("layers --stats: exit 0, sampled figures marked in the table and in JSON")
    func layersStats() throws {
        try Self.withCheckpoint { path in
            let table = try BinaryRunner.run(["layers", path, "--stats"])
            #expect(table.status == 0, "\(table.stderr)")
            let row = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix(Self.name) })
            #expect(row.contains(" 4* "), "\(row)")
            #expect(
                table.stderr.contains(
                    "\(Self.name): statistics marked * are from a sample of \(TensorStatistics.sampleElements) of its \(Self.elements) elements"
                ),
                "\(table.stderr)")
            let json = try BinaryRunner.run(["layers", path, "--stats", "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            let stats = try #require(rows.first?["statistics"] as? [String: Any])
            #expect(stats["sampled_elements"] as? Int == TensorStatistics.sampleElements)
            #expect(stats["max_abs"] as? Double == 4)
        }
    }

    @Test("quantize: a clear refusal naming the tensor and its size, exit 1, no crash")
    func quantize() throws {
        try Self.withCheckpoint { path in
            let r = try BinaryRunner.run(["quantize", "--weights", path, "--layer", Self.name])
            #expect(r.status == 1, "\(r.stderr)")
            #expect(
                r.stderr.contains(
                    "\(path): tensor \"\(Self.name)\" (\(Self.elements) values as Float) needs 200.0 GiB in memory"),
                "\(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
    }

    @Test("a layer too wide for its [in, in] Hessian is refused before H is built: in process and by quantize")
    func wideLayer() throws {
        let n = 1 << 20
        do {
            _ = try IdentityCalibration().hessian(forLayer: "l.weight", inFeatures: n)
            Issue.record("a 4 TiB identity was built")
        } catch let e as SpQRError {
            #expect(
                e.kind == .tooLarge
                    && e.message.hasPrefix(
                        "l.weight: the [\(n), \(n)] Hessian (H = I) needs 4.0 TiB in memory but only "),
                "\(e)")
            #expect(
                e.message.hasSuffix(" is available; a layer with \(n) inputs is too wide to quantize on this machine"),
                "\(e)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-wide-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("wide.safetensors").path
        try SafetensorsWriter.write([.f32("l.weight", shape: [1, n], [Float](repeating: 0.5, count: n))], to: path)
        let r = try BinaryRunner.run(["quantize", "--weights", path, "--layer", "l.weight"])
        #expect(
            r.status == 1 && r.stderr.contains("l.weight: the [\(n), \(n)] Hessian (H = I) needs 4.0 TiB in memory"),
            "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
    }
}
