// Hugging Face SpQR directories built by hand: a packed layer's tensors open and decode like the layer, and
// hostile ones (missing or inconsistent shapes, wrong dtypes and lengths, bad offsets, columns,
// permutations, outlier values, truncated data) are refused with specific errors, never a crash.

import Foundation
import Testing

@testable import SpQRCore

/// Writes a directory holding one quantized module "m" from raw tensors (unchecked) and `quantization`.
private func rawDirectory(
    dense: [UInt64], offsets: [Int32], colVals: [Int32], inPerm: [Int32],
    shapes: [String: Int]? = nil, quantization: [String: Any] = [:], denseDType: SafetensorsDType = .I64
) throws -> String {
    let dir = try temporaryDirectory().path
    func bytes<T>(_ a: [T]) -> Data { a.withUnsafeBytes { Data($0) } }
    try SafetensorsWriter.write(
        [
            .init(name: "m.dense_weights", dtype: denseDType, shape: [dense.count], bytes: bytes(dense)),
            .init(name: "m.row_offsets", dtype: .I32, shape: [offsets.count], bytes: bytes(offsets)),
            .init(name: "m.col_vals", dtype: .I32, shape: [colVals.count], bytes: bytes(colVals)),
            .init(name: "m.in_perm", dtype: .I32, shape: [inPerm.count], bytes: bytes(inPerm)),
            .f32("norm.weight", shape: [4], [1, 2, 3, 4]),
        ], metadata: ["format": "pt"], to: dir + "/model.safetensors")
    var q: [String: Any] = [
        "quant_method": "spqr", "bits": 3, "beta1": 16, "beta2": 16,
        "shapes": shapes ?? [
            "m.dense_weights.shape": dense.count, "m.row_offsets.shape": offsets.count,
            "m.col_vals.shape": colVals.count, "m.in_perm.shape": inPerm.count,
        ],
    ]
    q.merge(quantization) { $1 }
    let config = try JSONSerialization.data(withJSONObject: ["model_type": "llama", "quantization_config": q])
    try config.write(to: URL(fileURLWithPath: dir + "/config.json"))
    return dir
}

@Suite("spqr-hf format: hostile directories")
struct SpQRHFHostileTests {
    @Test("a hand-built directory of a packed layer opens and decodes like the layer")
    func rawDirectoryOpens() throws {
        let l = try smallPacked()
        let dir = try rawDirectory(dense: l.denseWeights, offsets: l.rowOffsets, colVals: l.colVals, inPerm: l.inPerm)
        let c = try SpQRHFCheckpoint(path: dir)
        #expect(c.tensors.map(\.name) == ["m.weight", "norm.weight"])
        #expect(try c.layer("m.weight") == l)
        #expect(try c.matrix("m.weight") == l.dequantized())
    }

    @Test("hostile directories give specific errors")
    func hostile() throws {
        let l = try smallPacked()
        #expect(l.outlierCount >= 2)
        let d = l.denseWeights
        let o = l.rowOffsets
        let v = l.colVals
        let p = l.inPerm
        var decreasing = o
        decreasing[5] = decreasing[6] + 1
        var farColumn = v
        farColumn[1] = Int32(bitPattern: UInt32(bitPattern: v[1]) & 0xffff_0000 | 40)
        var twice = p
        twice[1] = p[0]
        var nonFinite = v
        nonFinite[0] = Int32(bitPattern: UInt32(Float16.infinity.bitPattern) << 16)
        let cases: [(String, () throws -> String)] = [
            (
                "quantization_config.shapes has no \"m.in_perm.shape\"; every quantized module needs all four",
                {
                    try rawDirectory(
                        dense: d, offsets: o, colVals: v, inPerm: p,
                        shapes: [
                            "m.dense_weights.shape": d.count, "m.row_offsets.shape": o.count,
                            "m.col_vals.shape": v.count,
                        ])
                }
            ),
            (
                "tensor \"m.col_vals\" is I32 [\(v.count)]; quantization_config.shapes says I32 [\(v.count + 1)]",
                {
                    try rawDirectory(
                        dense: d, offsets: o, colVals: v, inPerm: p,
                        shapes: [
                            "m.dense_weights.shape": d.count, "m.row_offsets.shape": o.count,
                            "m.col_vals.shape": v.count + 1, "m.in_perm.shape": p.count,
                        ])
                }
            ),
            (
                "tensor \"m.dense_weights\" is F64 [\(d.count)]; quantization_config.shapes says I64 [\(d.count)]",
                {
                    try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p, denseDType: .F64)
                }
            ),
            (
                "m: dense_weights has \(d.count - 16) words; 32 × 32 needs 64",
                {
                    try rawDirectory(dense: Array(d.dropLast(16)), offsets: o, colVals: v, inPerm: p)
                }
            ),
            (
                "m: row_offsets decreases at row 5 (\(decreasing[5]) then \(o[6]))",
                {
                    try rawDirectory(dense: d, offsets: decreasing, colVals: v, inPerm: p)
                }
            ),
            (
                "m: col_vals[1] names column 40; the layer has 32",
                {
                    try rawDirectory(dense: d, offsets: o, colVals: farColumn, inPerm: p)
                }
            ),
            (
                "m: col_vals[0] holds a non-finite value inf",
                {
                    try rawDirectory(dense: d, offsets: o, colVals: nonFinite, inPerm: p)
                }
            ),
            (
                "m: in_perm is not a permutation of 0…31: entry 1 holds \(UInt32(bitPattern: p[0]) & 0xffff) twice",
                {
                    try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: twice)
                }
            ),
            (
                "m: row_offsets ends at \(o.last!) but col_vals has \(v.count - 1) entries",
                {
                    try rawDirectory(dense: d, offsets: o, colVals: Array(v.dropLast()), inPerm: p)
                }
            ),
            (
                "quantization_config.bits is 4; spqr-hf holds only 3",
                {
                    try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p, quantization: ["bits": 4])
                }
            ),
            (
                "quantization_config.shapes is missing",
                {
                    try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p, quantization: ["shapes": "x"])
                }
            ),
        ]
        for (expected, build) in cases {
            let dir = try build()
            let message = errorMessage(path: dir) { _ = try SpQRHFCheckpoint(path: dir) }
            #expect(message.hasSuffix(expected), "\(message)")
        }
        // Truncated data: the safetensors reader refuses the file.
        let dir = try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p)
        let path = dir + "/model.safetensors"
        let bytes = try #require(FileManager.default.contents(atPath: path))
        try bytes.prefix(bytes.count - 9).write(to: URL(fileURLWithPath: path))
        let truncated = errorMessage(path: path) { _ = try ModelFiles.openCheckpoint(dir) }
        #expect(truncated.contains("outside the") && truncated.contains("data section"), "\(truncated)")
    }
}
