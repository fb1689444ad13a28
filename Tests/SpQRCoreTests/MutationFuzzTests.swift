// A deterministic mutation fuzzer over every file reader: byte flips, truncations, and random 8-byte
// fields set to extreme values, starting from valid files. Every mutant must either open with every
// tensor reading back with the shape its header gives, or be rejected with an SpQRError whose message
// starts with the file's path — never a crash, never an unbounded allocation, never another error type.
// Both outcomes must occur for every seed file (a fuzzer whose mutants all pass or all fail tests
// nothing). Fixed seeds keep it reproducible.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Mutation fuzzing of the readers")
struct MutationFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["SPQR_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 400

    static func mutate(_ seed: Data, _ g: inout SeededRandom) -> Data {
        var d = seed
        switch g.next() % 4 {
        case 0:
            for _ in 0..<(1 + Int(g.next() % 8)) where !d.isEmpty {
                let i = Int(g.next() % UInt64(d.count))
                d[d.startIndex + i] = UInt8(truncatingIfNeeded: g.next())
            }
        case 1:
            d = d.prefix(Int(g.next() % UInt64(max(d.count, 1))))
        case 2:
            if d.count >= 8 {
                let i = Int(g.next() % UInt64(d.count - 7))
                let extremes: [UInt64] = [
                    0, 1, UInt64(Int32.max), UInt64(UInt32.max), UInt64(Int64.max), UInt64.max, 1 << 40,
                ]
                var v = extremes[Int(g.next() % UInt64(extremes.count))].littleEndian
                withUnsafeBytes(of: &v) { d.replaceSubrange((d.startIndex + i)..<(d.startIndex + i + 8), with: $0) }
            }
        default:
            if !d.isEmpty {
                let i = Int(g.next() % UInt64(d.count))
                let n = Int(g.next() % 64)
                d.insert(
                    contentsOf: [UInt8](repeating: UInt8(truncatingIfNeeded: g.next()), count: n), at: d.startIndex + i)
            }
        }
        return d
    }

    /// Runs `read` on mutants of `seed`; returns (accepted, rejected). A rejection must be an SpQRError
    /// naming the mutant's path; any other error ends the test.
    static func fuzz(_ seed: Data, ext: String, seedValue: UInt64, _ read: (String) throws -> Void) throws -> (Int, Int)
    {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var g = SeededRandom(seed: seedValue)
        var accepted = 0
        var rejected = 0
        for i in 0..<iterations {
            let path = dir.appendingPathComponent("m\(i).\(ext)").path
            try mutate(seed, &g).write(to: URL(fileURLWithPath: path))
            do {
                try read(path)
                accepted += 1
            } catch let e as SpQRError {
                #expect(e.message.hasPrefix(path + ": "), "mutant \(i): \(e.message)")
                rejected += 1
            }
            try? FileManager.default.removeItem(atPath: path)
        }
        return (accepted, rejected)
    }

    static func seed(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/\(name)"))
    }

    /// Opens a checkpoint and reads every quantizable tensor whole and streamed; each must have the
    /// shape its entry lists.
    static func readCheckpoint(_ c: any Checkpoint) throws {
        for t in c.tensors where t.isQuantizable {
            let m = try c.matrix(t.name)
            #expect([m.rows, m.cols] == t.shape && m.values.count == t.elementCount, "\(c.path): \(t.name)")
            // The streamed statistics read the same bytes: with finite values they match the loaded matrix.
            let s = try c.statistics(t.name)
            let want = TensorStatistics(m.values)
            #expect(s.sampledElements == nil)
            if want.std.isFinite && want.kurtosis.isFinite {
                #expect(abs(s.std - want.std) <= 1e-9 * want.std && s.maxAbs == want.maxAbs, "\(c.path): \(t.name)")
            }
        }
    }

    @Test func safetensors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.safetensors").path
        try SafetensorsWriter.write(
            [
                .f32("model.layers.0.mlp.up_proj.weight", shape: [4, 8], (0..<32).map(Float.init)),
                .u8("mask", shape: [8], [1, 0, 1, 0, 1, 0, 1, 0]),
            ], metadata: ["k": "v"], to: path)
        let (a, r) = try Self.fuzz(try Data(contentsOf: URL(fileURLWithPath: path)), ext: "safetensors", seedValue: 1) {
            p in
            try Self.readCheckpoint(try ModelFiles.openCheckpoint(p))
        }
        #expect(a > 0 && r > 0, "\(a) accepted, \(r) rejected")
    }

    @Test func gguf() throws {
        let (a, r) = try Self.fuzz(try Self.seed("quants.gguf"), ext: "gguf", seedValue: 2) { p in
            try Self.readCheckpoint(try GGUFCheckpoint(path: p))
        }
        #expect(a > 0 && r > 0, "\(a) accepted, \(r) rejected")
        let (a2, r2) = try Self.fuzz(try Self.seed("llama-tiny.gguf"), ext: "gguf", seedValue: 3) { p in
            try Self.readCheckpoint(try GGUFCheckpoint(path: p))
        }
        #expect(a2 > 0 && r2 > 0, "\(a2) accepted, \(r2) rejected")
        // Q2_K, Q3_K, the i-quants, ternary and FP4 blocks: most mutants change block bytes (grid indices,
        // signs, scales), and every such tensor must still decode.
        let (a3, r3) = try Self.fuzz(try Self.seed("quants-lowbit.gguf"), ext: "gguf", seedValue: 5) { p in
            try Self.readCheckpoint(try GGUFCheckpoint(path: p))
        }
        #expect(a3 > 0 && r3 > 0, "\(a3) accepted, \(r3) rejected")
    }

    @Test(arguments: ["tiny.imatrix", "tiny.imatrix.gguf"])
    func imatrix(file: String) throws {
        let (a, r) = try Self.fuzz(try Self.seed(file), ext: "imatrix", seedValue: 4) { p in
            let m = try ImportanceMatrixCalibration(path: p)
            // Stacked expert matrices are refused for a single layer by design; the others must serve one.
            for (name, e) in m.entries where e.matrices == 1 && !e.meanSquares.isEmpty {
                let h = try m.hessian(forLayer: name, inFeatures: e.inFeatures)
                #expect(h.rows == e.inFeatures && h.cols == e.inFeatures, "\(p): \(name)")
            }
        }
        #expect(a > 0 && r > 0, "\(a) accepted, \(r) rejected")
    }

    @Test func npy() throws {
        let (a, r) = try Self.fuzz(try Self.seed("activations.npy"), ext: "npy", seedValue: 5) { p in
            let array = try NumpyArray(path: p)
            let x = try array.matrix()
            #expect(x.rows == array.rows && x.cols == array.cols && x.values.count == array.shape.reduce(1, *), "\(p)")
        }
        #expect(a > 0 && r > 0, "\(a) accepted, \(r) rejected")
    }

    @Test func recipe() throws {
        let seed = try RecipeTests.sample().encoded()
        let (a, r) = try Self.fuzz(seed, ext: "json", seedValue: 6) { p in _ = try Recipe.read(path: p) }
        #expect(a > 0 && r > 0, "\(a) accepted, \(r) rejected")
    }
}
