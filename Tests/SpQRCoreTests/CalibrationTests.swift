// Calibration sources: Hessian files (full and packed, layers map, input-site fallback, provenance,
// size checks), llama.cpp importance matrices (legacy and GGUF, against the values the fixture generator
// computed), activations from .npy (every version and float type) and safetensors, and H = I.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("Hessian files")
struct HessianFileTests {
    static let q = "model.layers.0.self_attn.q_proj.weight", k = "model.layers.0.self_attn.k_proj.weight"
    static let site = "hessian.model.layers.0.self_attn.q_proj"

    @Test(
        "full and packed matrices round-trip exactly through the layers map, with provenance", arguments: [false, true])
    func roundTrip(packed: Bool) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("h.safetensors").path
        let l = syntheticLayer(out: 4, in: 6, seed: 3)
        try HessianFileCalibration.write(
            hessians: [Self.site: l.h], layers: [Self.q: Self.site, Self.k: Self.site],
            provenance: [
                "model": "test", "n_sequences": "16", "n_tokens": "4096", "seq_len": "256",
                "text_source": "unit test", "text_sha256": "00", "tool_version": "tests",
            ],
            packed: packed, to: path)
        let st = try SafetensorsFile(path: path)
        #expect(st.tensors.map(\.name) == [packed ? Self.site + ".triu" : Self.site])
        #expect(st.tensors[0].shape == (packed ? [21] : [6, 6]))
        let source = try #require(try ModelFiles.openCalibration(hessians: path) as? HessianFileCalibration)
        #expect(source.label == "Hessian file h.safetensors, 16 seq, 4096 tokens")
        #expect(source.nSequences == 16 && source.nTokens == 4096 && source.seqLen == 256)
        #expect(
            source.provenance == [
                "model": "test", "n_sequences": "16", "n_tokens": "4096", "seq_len": "256", "text_source": "unit test",
                "text_sha256": "00", "tool_version": "tests", "format": "spqr-explorer-hessians", "format_version": "1",
            ])
        #expect(source.layers == [Self.q: Self.site, Self.k: Self.site])
        // The writer stores the upper triangle; symmetric input comes back exactly.
        #expect(try source.hessian(forLayer: Self.k, inFeatures: 6) == l.h)
        #expect(
            errorMessage(path: path) { _ = try source.hessian(forLayer: Self.k, inFeatures: 7) }
                == (packed
                    ? "packed Hessian \(Self.site).triu has 21 values (a 6-input layer); layer \(Self.k) with 7 inputs needs 28"
                    : "Hessian \(Self.site) is 6x6 but layer \(Self.k) has 7 inputs"))
        #expect(
            errorMessage(path: path) {
                _ = try source.hessian(forLayer: "model.layers.0.mlp.up_proj.weight", inFeatures: 6)
            }
                == "no Hessian for layer model.layers.0.mlp.up_proj.weight (the file covers 2 layers, e.g. \(Self.k), \(Self.q))"
        )
        // v is not in the map, but its input site's tensor is in the file.
        #expect(try source.hessian(forLayer: "model.layers.0.self_attn.v_proj.weight", inFeatures: 6) == l.h)
    }

    @Test("the packed layout is the upper triangle row by row")
    func packedLayout() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("p.safetensors").path
        // H = [[1 2 3] [2 4 5] [3 5 6]] packed as 1 2 3 4 5 6.
        try SafetensorsWriter.write(
            [.f32("hessian.x.triu", shape: [6], [1, 2, 3, 4, 5, 6])],
            metadata: ["layers": #"{"x.weight":"hessian.x"}"#], to: path)
        let h = try HessianFileCalibration(path: path).hessian(forLayer: "x.weight", inFeatures: 3)
        #expect(h.values == [1, 2, 3, 2, 4, 5, 3, 5, 6])
    }

    @Test("bad Hessian files get specific errors")
    func badFiles() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func message(_ tensors: [SafetensorsWriter.Tensor], _ meta: [String: String]) throws -> String {
            let path = dir.appendingPathComponent("b.safetensors").path
            try SafetensorsWriter.write(tensors, metadata: meta, to: path)
            return errorMessage(path: path) { _ = try HessianFileCalibration(path: path) }
        }
        let square = SafetensorsWriter.Tensor.f32("hessian.a", shape: [2, 2], [1, 0, 0, 1])
        #expect(try message([square], ["layers": #"{"a.weight":"hessian.a"}"#]) == "no error")
        #expect(
            try message([square], ["format": "spqr-explorer-hessians", "format_version": "2", "layers": "{}"])
                == "Hessian file format version 2 is not supported (version 1 is); re-collect it with this version's tools"
        )
        #expect(
            try message([square], ["layers": "[1]"])
                == "metadata \"layers\" must be a JSON object of weight name → Hessian tensor name")
        #expect(
            try message([square], ["layers": #"{"a.weight":"hessian.b"}"#])
                == "layers[\"a.weight\"] names hessian.b, which the file does not hold")
        #expect(
            try message(
                [.f32("hessian.a", shape: [2, 3], [1, 0, 0, 1, 0, 0])], ["layers": #"{"a.weight":"hessian.a"}"#])
                == "Hessian hessian.a has shape [2, 3]; it must be square [in, in]")
        #expect(
            try message([.f32("hessian.a.triu", shape: [4], [1, 0, 0, 1])], ["layers": #"{"a.weight":"hessian.a"}"#])
                == "packed Hessian hessian.a.triu has shape [4]; a packed upper triangle holds in·(in+1)/2 values")
        #expect(
            try message([.i64("hessian.a", shape: [1, 1], [1])], ["layers": #"{"a.weight":"hessian.a"}"#])
                == "Hessian hessian.a has dtype I64; F32 (or another float type) is needed")
        #expect(throws: SpQRError.self) {
            try HessianFileCalibration.write(
                hessians: ["h": Matrix(rows: 2, cols: 3)], layers: [:], provenance: [:],
                to: dir.appendingPathComponent("w").path)
        }
        #expect(throws: SpQRError.self) {
            try HessianFileCalibration.write(
                hessians: ["h": .identity(2)], layers: ["w": "g"], provenance: [:],
                to: dir.appendingPathComponent("w").path)
        }
    }

    @Test("a safetensors file without a layers map: the named tensor, or the only one that fits")
    func plainMatrix() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("h.safetensors").path
        try SafetensorsWriter.write(
            [
                .f32("h4", shape: [2, 2], [4, 0, 0, 4]), .f32("h3", shape: [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]),
                .f32("g3", shape: [3, 3], [2, 0, 0, 0, 2, 0, 0, 0, 2]),
            ], to: path)
        let any = try ModelFiles.openCalibration(hessians: path)
        #expect(any is SafetensorsMatrixCalibration && any.kind == .hessian)
        #expect(try any.hessian(forLayer: "l", inFeatures: 2).values == [4, 0, 0, 4])
        #expect(
            errorMessage(path: path) { _ = try any.hessian(forLayer: "l", inFeatures: 3) }
                == "2 tensors are 3x3 Hessians for layer l (g3, h3); name one with --hessian-tensor")
        let named = try ModelFiles.openCalibration(hessians: path, hessianTensor: "g3")
        #expect(try named.hessian(forLayer: "l", inFeatures: 3).values[0] == 2)
        #expect(
            errorMessage(path: path) { _ = try named.hessian(forLayer: "l", inFeatures: 2) }
                == "Hessian g3 is 3x3 but layer l has 2 inputs")
        #expect(
            errorMessage(path: path) { _ = try ModelFiles.openCalibration(hessians: path, hessianTensor: "zz") }
                .hasPrefix("no tensor named \"zz\""))
    }
}

@Suite("Importance matrices")
struct ImportanceMatrixTests {
    @Test(
        "legacy and GGUF forms give E[x²] per column as llama-quantize computes it",
        arguments: ["tiny.imatrix", "tiny.imatrix.gguf"])
    func values(file: String) throws {
        let source = try #require(
            try ModelFiles.openCalibration(imatrix: "\(fixtures)/\(file)") as? ImportanceMatrixCalibration)
        let expected = try SafetensorsFile(path: "\(fixtures)/imatrix-expected.safetensors")
        for (name, hf, n) in [
            ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", 32),
            ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", 64),
        ] {
            let want = try expected.floats(name)
            for layer in [name, hf] {
                let h = try source.hessian(forLayer: layer, inFeatures: n)
                for j in 0..<n {
                    #expect(abs(h[j, j] - 2 * want[j]) <= 1e-6 * want[j], "\(layer) column \(j)")
                    #expect(h[j, (j + 1) % n] == 0)
                }
            }
        }
        #expect(source.chunks == 10 && source.datasets == ["wiki.train.raw"])
        #expect(source.isLegacy == !file.hasSuffix(".gguf"))
        #expect(
            source.label
                == "importance matrix \(file), 10 chunks\(source.isLegacy ? "" : " of 512 tokens") (diagonal H)")
        #expect(
            errorMessage(path: "\(fixtures)/\(file)") {
                _ = try source.hessian(forLayer: "blk.0.attn_q.weight", inFeatures: 31)
            }
                == "the importance matrix entry blk.0.attn_q.weight has 32 columns but layer blk.0.attn_q.weight has 31 inputs"
        )
        #expect(
            errorMessage(path: "\(fixtures)/\(file)") {
                _ = try source.hessian(forLayer: "blk.9.attn_q.weight", inFeatures: 32)
            }.hasPrefix(
                "the importance matrix has no entry for blk.9.attn_q.weight"))
    }

    @Test(
        "GGUF: experts are divided by their own counts, a matrix that saw nothing gets 1, and a 2-D layer cannot use them"
    )
    func experts() throws {
        let path = "\(fixtures)/tiny.imatrix.gguf"
        let source = try ImportanceMatrixCalibration(path: path)
        let e = try #require(source.entries["blk.0.ffn_up_exps.weight"])
        #expect(e.matrices == 2 && e.inFeatures == 16)
        let want = try SafetensorsFile(path: "\(fixtures)/imatrix-expected.safetensors").floats(
            "blk.0.ffn_up_exps.weight")
        for (a, b) in zip(e.meanSquares, want) { #expect(abs(a - b) <= 1e-6 * b) }
        #expect(e.meanSquares[16...].allSatisfy { $0 == 1 })
        #expect(
            errorMessage(path: path) { _ = try source.hessian(forLayer: "blk.0.ffn_up_exps.weight", inFeatures: 16) }
                == "the entry blk.0.ffn_up_exps.weight for blk.0.ffn_up_exps.weight holds 2 stacked expert matrices; a single 2-D layer needs one"
        )
    }

    @Test("every truncation of a legacy file inside its entries is reported; the optional trailer may be cut")
    func truncatedLegacy() throws {
        let whole = Array(try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/tiny.imatrix")))
        // Entries end before the trailer: i32 chunks, i32 length, "wiki.train.raw".
        let entriesEnd = whole.count - 8 - "wiki.train.raw".utf8.count
        for cut in 0..<whole.count {
            let message = try openMessage(Array(whole.prefix(cut)), name: "t.imatrix") {
                _ = try ImportanceMatrixCalibration(path: $0)
            }
            if cut < entriesEnd {
                #expect(
                    message.contains("truncated") || message.contains("cannot fit") || message.contains("name length"),
                    "cut at \(cut): \(message)")
            } else {
                #expect(message == "no error", "cut at \(cut): \(message)")
            }
        }
    }

    @Test("bad importance matrices get specific errors")
    func badFiles() throws {
        func legacy(_ bytes: [UInt8]) throws -> String {
            try openMessage(bytes, name: "b.imatrix") { _ = try ImportanceMatrixCalibration(path: $0) }
        }
        #expect(try legacy(le(Int32(0))) == "entry count 0: not an importance matrix, or one without data")
        #expect(
            try legacy(le(Int32(1000)) + [UInt8](repeating: 0, count: 20))
                == "entry count 1000 cannot fit in the 24-byte file (truncated, or not an importance matrix)")
        #expect(
            try legacy(le(Int32(1)) + le(Int32(-5)) + [UInt8](repeating: 0, count: 20))
                == "entry 0 has a name length of -5 (truncated, or not an importance matrix)")
        #expect(
            try legacy(le(Int32(1)) + le(Int32(1)) + [0x77] + le(Int32(1)) + le(Int32(0)) + [0, 0, 0, 0])
                == "w has 0 values")
        #expect(
            try legacy(le(Int32(1)) + le(Int32(1)) + [0x77] + le(Int32(1)) + le(Int32(9)) + [0, 0, 0, 0])
                == "truncated: w claims 9 values, 1 remain")
        #expect(
            try legacy(le(Int32(1)) + le(Int32(2)) + [0xC3, 0x28] + le(Int32(1)) + le(Int32(1)) + [0, 0, 0, 0])
                == "entry 0 name is not valid UTF-8")
        // A GGUF model is not an importance matrix; neither is a GGUF whose sums lack counts.
        #expect(
            errorMessage(path: "\(fixtures)/quants.gguf") {
                _ = try ImportanceMatrixCalibration(path: "\(fixtures)/quants.gguf")
            }
                == "no <name>.in_sum2 / <name>.counts tensors: not an importance matrix")
        let noCounts = ggufBytes(tensors: [("w.in_sum2", [4], 0, 0)], data: [UInt8](repeating: 0, count: 16))
        #expect(
            try openMessage(noCounts, name: "b.gguf") { _ = try ImportanceMatrixCalibration(path: $0) }
                == "w has in_sum2 but no .counts tensor")
        let uneven = ggufBytes(
            tensors: [("w.in_sum2", [3], 0, 0), ("w.counts", [2], 0, 32)], data: [UInt8](repeating: 0, count: 40))
        #expect(
            try openMessage(uneven, name: "b.gguf") { _ = try ImportanceMatrixCalibration(path: $0) }
                == "w.in_sum2 has 3 values for 2 counts; they must divide evenly")
        let f16 = ggufBytes(
            tensors: [("w.in_sum2", [4], 1, 0), ("w.counts", [1], 0, 32)], data: [UInt8](repeating: 0, count: 40))
        #expect(
            try openMessage(f16, name: "b.gguf") { _ = try ImportanceMatrixCalibration(path: $0) }
                == "w.in_sum2 and .counts must be F32, got F16 and F32")
        let model = ggufBytes(kv: [ggufString("general.type") + le(UInt32(8)) + ggufString("model")])
        #expect(
            try openMessage(model, name: "b.gguf") { _ = try ImportanceMatrixCalibration(path: $0) }
                == "a GGUF model, not an importance matrix (general.type is \"model\"); pass model files as the checkpoint"
        )
    }
}

@Suite("Activations")
struct ActivationsTests {
    static func expected(_ name: String = "x") throws -> Matrix {
        try SafetensorsFile(path: "\(fixtures)/activations-expected.safetensors").matrix(name)
    }

    /// Within 1e-5, relative to the larger of the expected entry and 1.
    static func close(_ a: Matrix, _ b: Matrix) -> Bool { isClose(a, b, relative: 1e-5, floor: 1) }

    @Test(
        ".npy versions 1, 2, 3, float16/32/64 and 3-D arrays give H = 2XᵀX/n",
        arguments: [
            "activations.npy", "activations-v2.npy", "activations-v3.npy", "activations-f8.npy", "activations-3d.npy",
            "activations-f2.npy",
        ])
    func npy(file: String) throws {
        let x = try Self.expected(file.contains("f2") ? "x_f16" : "x")
        let npy = try NumpyArray(path: "\(fixtures)/\(file)")
        #expect(npy.rows == 6 && npy.cols == 4)
        #expect(npy.version == (file.contains("v2") ? "2.0" : file.contains("v3") ? "3.0" : "1.0"))
        #expect(try npy.matrix().values.map(\.bitPattern) == x.values.map(\.bitPattern))
        let source = try ModelFiles.openCalibration(activations: "\(fixtures)/\(file)")
        #expect(source.kind == .activations && source.label == "activations \(file) (H = 2XᵀX/n)")
        #expect(Self.close(try source.hessian(forLayer: "l", inFeatures: 4), try Hessian.fromActivations(x)))
        #expect(
            errorMessage(path: "\(fixtures)/\(file)") { _ = try source.hessian(forLayer: "l", inFeatures: 5) }
                == "activations have 4 columns but layer l has 5 inputs")
    }

    @Test("refused .npy files say why and how to re-save")
    func refused() throws {
        func message(_ file: String) -> String {
            errorMessage(path: "\(fixtures)/\(file)") { _ = try NumpyArray(path: "\(fixtures)/\(file)") }
        }
        #expect(
            message("activations-fortran.npy")
                == "the array is in Fortran order; save it with numpy.ascontiguousarray first")
        #expect(
            message("activations-big-endian.npy")
                == "dtype '>f4' is big-endian; save it little-endian (x.astype(x.dtype.newbyteorder('<')))")
        #expect(
            message("activations-int.npy")
                == "dtype '<i4' is not supported (little-endian float16, float32 and float64 are: '<f2', '<f4', '<f8')")
        let whole = Array(try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/activations.npy")))
        func npy(_ bytes: [UInt8]) throws -> String {
            try openMessage(bytes, name: "b.npy") { _ = try NumpyArray(path: $0) }
        }
        #expect(try npy(Array(whole.dropLast(1))) == "truncated: shape [6, 4] of <f4 needs 96 bytes of data, 95 remain")
        #expect(try npy(Array(whole.prefix(40))) == "truncated: the header claims 118 bytes, 30 remain")
        #expect(try npy(Array("PK".utf8) + [3, 4]) == "truncated: magic needs 6 bytes at offset 0, the file has 4")
        #expect(try npy(Array("NOTNPYxxxx".utf8)) == "not a .npy file (bad magic)")
        #expect(
            try npy([0x93] + Array("NUMPY".utf8) + [4, 0]) == ".npy version 4.0 is not supported (1.0, 2.0 and 3.0 are)"
        )
        func header(_ h: String) -> [UInt8] {
            [0x93] + Array("NUMPY".utf8) + [1, 0] + le(UInt16(h.utf8.count)) + Array(h.utf8)
        }
        #expect(
            try npy(header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"))
                == "shape [4]: activations need at least two dimensions, [n, in] (or [batch, seq, in])")
        #expect(
            try npy(header("{'descr': '<f4', 'shape': (4, 4), }"))
                == "header keys are [\"descr\", \"shape\"]; a .npy header has exactly descr, fortran_order and shape")
        #expect(
            try npy(header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4, 4), }"))
                .hasPrefix("header is not a Python dict literal (unsupported value for 'descr' at '[('a', '<f4''"))
        #expect(
            try npy(header("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)")).hasPrefix(
                "header is not a Python dict literal (expected ',' or '}')"))
        #expect(
            try npy(header("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }"))
                == "shape [9223372036854775807, 4] overflows the element count")
    }

    @Test("activations in safetensors: named, or the only float tensor ending in the layer's width")
    func safetensors() throws {
        let path = "\(fixtures)/activations-expected.safetensors"
        let x = try Self.expected()
        let named = try ModelFiles.openCalibration(activations: path, activationsTensor: "x")
        #expect(Self.close(try named.hessian(forLayer: "l", inFeatures: 4), try Hessian.fromActivations(x)))
        let unnamed = try ModelFiles.openCalibration(activations: path)
        #expect(
            errorMessage(path: path) { _ = try unnamed.hessian(forLayer: "l", inFeatures: 4) }
                == "2 float tensors end in 4 columns (x, x_f16); name one with --activations-tensor")
        #expect(
            errorMessage(path: path) { _ = try unnamed.hessian(forLayer: "l", inFeatures: 3) }
                == "no float tensors end in 3 columns; name one with --activations-tensor")
        #expect(
            errorMessage(path: path) { _ = try ModelFiles.openCalibration(activations: path, activationsTensor: "y") }
                .hasPrefix("no tensor named \"y\""))
        #expect(
            errorMessage(path: "\(fixtures)/activations.npy") {
                _ = try ModelFiles.openCalibration(activations: "\(fixtures)/activations.npy", activationsTensor: "x")
            }
                == "a .npy file holds one array; drop --activations-tensor x")
    }

    @Test("accumulating H over chunks of rows equals one product; non-finite activations are located")
    func chunks() throws {
        var g = SeededGenerator(seed: 9)
        var x = Matrix(rows: 23, cols: 5)
        for k in x.values.indices { x.values[k] = g.gaussian() }
        let bytes = x.values.withUnsafeBufferPointer { Data(buffer: $0) }
        func h(_ chunk: Int) throws -> Matrix {
            try ActivationsCalibration.hessian(rows: 23, cols: 5, dtype: .F32, what: "x", chunkRows: chunk) {
                range, body in
                try bytes.withUnsafeBytes {
                    try body(UnsafeRawBufferPointer(rebasing: $0[(range.lowerBound * 20)..<(range.upperBound * 20)]))
                }
            }
        }
        let whole = try Hessian.fromActivations(x)
        for chunk in [1, 4, 7, 23] { #expect(Self.close(try h(chunk), whole), "chunk \(chunk)") }
        x[17, 3] = .nan
        let bad = x.values.withUnsafeBufferPointer { Data(buffer: $0) }
        #expect(
            errorMessage(path: "x") {
                _ = try ActivationsCalibration.hessian(rows: 23, cols: 5, dtype: .F32, what: "x", chunkRows: 4) {
                    range, body in
                    try bad.withUnsafeBytes {
                        try body(
                            UnsafeRawBufferPointer(rebasing: $0[(range.lowerBound * 20)..<(range.upperBound * 20)]))
                    }
                }
            } == "calibration activations hold nan at row 17, column 3")
    }
}

@Suite("Calibration choice")
struct CalibrationChoiceTests {
    @Test(
        "no source means H = I, labelled data-free; two sources, a missing file or the wrong kind of file are refused")
    func choice() throws {
        let none = try ModelFiles.openCalibration()
        #expect(none.kind == .none && none.label == "none: data-free (H = I)" && none.file == nil)
        #expect(try none.hessian(forLayer: "l", inFeatures: 3) == Matrix.identity(3))
        #expect(
            errorMessage(path: "") { _ = try ModelFiles.openCalibration(hessians: "a", imatrix: "b") }
                == "[does not name the file] give one calibration source (a Hessian file, activations or an importance matrix), not 2"
        )
        #expect(
            errorMessage(path: "/no/such.imatrix") { _ = try ModelFiles.openCalibration(imatrix: "/no/such.imatrix") }
                == "no such file")
        #expect(
            errorMessage(path: "\(fixtures)/tiny.imatrix.gguf") {
                _ = try ModelFiles.openCalibration(hessians: "\(fixtures)/tiny.imatrix.gguf")
            }
                == "a GGUF file; pass an importance matrix with --imatrix")
        #expect(
            errorMessage(path: "\(fixtures)/activations.npy") {
                _ = try ModelFiles.openCalibration(hessians: "\(fixtures)/activations.npy")
            }
                == "a NumPy array; pass activations with --activations")
    }
}
