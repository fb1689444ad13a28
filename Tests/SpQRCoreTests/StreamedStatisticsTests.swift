// TensorStatistics in bounded memory: moments merged chunk by chunk agree with the two-pass figures;
// tensors over the exact limit are summarised from a sample that reads only its runs and says so.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Streamed tensor statistics")
struct StreamedStatisticsTests {
    /// Heavy-tailed values with a large mean, where a naive one-pass Σx², Σx⁴ would lose digits.
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var g = SeededRandom(seed: seed)
        return (0..<n).map { _ in 1000 + g.gaussian() * (g.next() % 50 == 0 ? 20 : 1) }
    }

    static func close(_ a: Double, _ b: Double, _ rel: Double) -> Bool { abs(a - b) <= rel * max(abs(b), 1e-300) }

    @Test("chunks of any size give the two-pass statistics to 1e-12 relative", arguments: [1, 7, 1000, 4096, 100_000])
    func chunked(chunk: Int) throws {
        let v = Self.values(10_007, seed: 3)
        let want = TensorStatistics(v)
        let got = try TensorStatistics.streamed(count: v.count, chunkElements: chunk) { Array(v[$0]) }
        #expect(got.sampledElements == nil)
        #expect(Self.close(got.mean, want.mean, 1e-12) && Self.close(got.std, want.std, 1e-12), "\(got) vs \(want)")
        #expect(Self.close(got.kurtosis, want.kurtosis, 1e-12) && got.maxAbs == want.maxAbs, "\(got) vs \(want)")
        #expect(want.kurtosis > 3.5)
    }

    @Test("one chunk gives exactly the two-pass statistics")
    func oneChunk() throws {
        let v = Self.values(5000, seed: 4)
        #expect(try TensorStatistics.streamed(count: v.count) { Array(v[$0]) } == TensorStatistics(v))
    }

    @Test("a merge of moments equals the moments of the concatenation")
    func merge() {
        let a = Self.values(333, seed: 5).map { $0 - 1003 }
        let b = Self.values(2000, seed: 6)
        var ma = Moments()
        var mb = Moments()
        var mab = Moments()
        a.withUnsafeBufferPointer { ma.add($0) }
        b.withUnsafeBufferPointer { mb.add($0) }
        (a + b).withUnsafeBufferPointer { mab.add($0) }
        ma.merge(mb)
        #expect(ma.count == mab.count && ma.maxAbs == mab.maxAbs)
        for (x, y) in [(ma.mean, mab.mean), (ma.m2, mab.m2), (ma.m3, mab.m3), (ma.m4, mab.m4)] {
            #expect(Self.close(x, y, 1e-11), "\(x) vs \(y)")
        }
    }

    @Test("over the exact limit: evenly spread runs of whole blocks, first and last included, labelled as a sample")
    func sample() throws {
        let count = 32 * 1000
        let granularity = 32
        let v = (0..<count).map { Float($0 % 97) - 48 }
        var reads: [Range<Int>] = []
        let got = try TensorStatistics.streamed(
            count: count, granularity: granularity, exactLimit: 10_000, sampleElements: 2048,
            sampleRuns: 8, chunkElements: 100
        ) { r in
            reads.append(r)
            return Array(v[r])
        }
        #expect(
            reads.allSatisfy { $0.lowerBound % granularity == 0 && $0.upperBound % granularity == 0 && $0.count <= 96 })
        let touched = reads.reduce(0) { $0 + $1.count }
        #expect(touched == 2048 && got.sampledElements == 2048)
        #expect(reads.first?.lowerBound == 0 && reads.last?.upperBound == count)
        let want = TensorStatistics(reads.flatMap { Array(v[$0]) })
        #expect(Self.close(got.std, want.std, 1e-12) && Self.close(got.kurtosis, want.kurtosis, 1e-12))
        // Sampled statistics are marked in JSON; exact ones have no such key.
        let json = String(decoding: try JSONEncoder().encode(got), as: UTF8.self)
        #expect(json.contains("\"sampled_elements\":2048"))
        #expect(!String(decoding: try JSONEncoder().encode(TensorStatistics(v)), as: UTF8.self).contains("sampled"))
    }

    @Test("checkpoints stream their own tensors: safetensors F16/BF16 and GGUF blocks agree with the loaded matrix")
    func checkpoints() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        let v = Self.values(64 * 48, seed: 8).map { $0 - 1000 }
        let f16 = v.map { Float16($0).bitPattern.littleEndian }
        let bf16 = v.map { UInt16($0.bitPattern >> 16).littleEndian }
        try SafetensorsWriter.write(
            [
                .init(
                    name: "h.weight", dtype: .F16, shape: [64, 48],
                    bytes: f16.withUnsafeBufferPointer { Data(buffer: $0) }),
                .init(
                    name: "b.weight", dtype: .BF16, shape: [64, 48],
                    bytes: bf16.withUnsafeBufferPointer { Data(buffer: $0) }),
            ], to: path)
        let st = try ModelFiles.openCheckpoint(path)
        let gguf = try ModelFiles.openCheckpoint("\(fixtures)/llama-tiny.gguf")
        for (c, name) in [(st, "h.weight"), (st, "b.weight")]
            + gguf.tensors.filter(\.isQuantizable).map({ (gguf, $0.name) })
        {
            let want = TensorStatistics(try c.matrix(name).values)
            let got = try c.statistics(name)
            #expect(
                Self.close(got.std, want.std, 1e-12) && Self.close(got.kurtosis, want.kurtosis, 1e-12)
                    && got.maxAbs == want.maxAbs, "\(name)")
        }
    }
}
