// The column-major panel of the GPTQ sweep: its transposes move values, its subtraction rounds each weight once.

import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("GPTQ panel")
struct GPTQPanelTests {
    @Test(
        "transposing moves every element to (c, r) and writes nothing else, in whole tiles and at the edges",
        arguments: [(8, 8), (16, 24), (13, 8), (8, 13), (21, 19), (1, 9), (9, 1), (0, 5), (64, 128)])
    func transposeMovesEveryElement(rows: Int, cols: Int) {
        let lds = cols + 3
        let ldd = rows + 5
        let src = (0..<(rows * lds)).map { Float($0) }
        let bytes = (0..<(rows * lds)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var dst = [Float](repeating: -1, count: cols * ldd + 1)
        var byteDst = [UInt8](repeating: 255, count: cols * ldd + 1)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                GPTQPanel.transpose(rows, cols, from: s.baseAddress!, lds, to: d.baseAddress!, ldd)
            }
        }
        bytes.withUnsafeBufferPointer { s in
            byteDst.withUnsafeMutableBufferPointer { d in
                GPTQPanel.transpose(rows, cols, from: s.baseAddress!, lds, to: d.baseAddress!, ldd)
            }
        }
        var expected = [Float](repeating: -1, count: cols * ldd + 1)
        var expectedBytes = [UInt8](repeating: 255, count: cols * ldd + 1)
        for r in 0..<rows {
            for c in 0..<cols {
                expected[c * ldd + r] = src[r * lds + c]
                expectedBytes[c * ldd + r] = bytes[r * lds + c]
            }
        }
        #expect(dst == expected)
        #expect(byteDst == expectedBytes)
    }

    @Test(
        "subtracting a row-major product from the column-major panel rounds each weight once, as w − p",
        arguments: [(8, 8), (64, 96), (13, 21), (7, 9), (1, 1), (0, 3)])
    func subtractTransposedRoundsOnce(rows: Int, cols: Int) {
        var random = SeededGenerator(seed: UInt64(rows * 100 + cols))
        let ldp = cols + 2
        let ldw = rows + 3
        let p = (0..<(rows * ldp)).map { _ in random.gaussian() * 1e-3 }
        var w = (0..<(cols * ldw + 1)).map { _ in random.gaussian() }
        var expected = w
        for r in 0..<rows {
            for c in 0..<cols { expected[c * ldw + r] = w[c * ldw + r] - p[r * ldp + c] }
        }
        p.withUnsafeBufferPointer { pp in
            w.withUnsafeMutableBufferPointer { wp in
                GPTQPanel.subtractTransposed(rows, cols, pp.baseAddress!, ldp, from: wp.baseAddress!, ldw)
            }
        }
        #expect(w.map(\.bitPattern) == expected.map(\.bitPattern))
    }
}
