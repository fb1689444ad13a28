// The ggml tensor types (ggml.h `enum ggml_type`) with their block layouts as ggml.c's type traits give
// them: elements per block and bytes per block, hence bits per weight = 8 · bytes / elements (Q4_K: 144 B
// per 256 weights = 4.5 bits). Which types decode here, and the size-checked entry point that decodes them
// (GGMLDequantize.swift and the files it names).

import Foundation

/// ggml tensor types (ggml.h `enum ggml_type`).
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9
    case Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15
    case IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23
    case I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35
    case MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42

    /// Type numbers llama.cpp once used and has removed (Q4_2, Q4_3, the repacked Q4_0_x_y and IQ4_NL_x_y).
    static let removed: Set<UInt32> = [4, 5, 31, 32, 33, 36, 37, 38]

    /// The types dequantized here.
    public static let supported: [GGMLType] = [
        .F32, .F16, .BF16, .F64, .Q8_0, .Q4_0, .Q4_1, .Q5_0, .Q5_1, .Q2_K, .Q3_K, .Q4_K, .Q5_K, .Q6_K,
        .IQ1_S, .IQ1_M, .IQ2_XXS, .IQ2_XS, .IQ2_S, .IQ3_XXS, .IQ3_S, .IQ4_NL, .IQ4_XS, .TQ1_0, .TQ2_0, .MXFP4, .NVFP4,
    ]

    public var description: String { name }

    /// The type's name as llama.cpp writes it.
    public var name: String {
        switch self {
        case .F32: return "F32"
        case .F16: return "F16"
        case .Q4_0: return "Q4_0"
        case .Q4_1: return "Q4_1"
        case .Q5_0: return "Q5_0"
        case .Q5_1: return "Q5_1"
        case .Q8_0: return "Q8_0"
        case .Q8_1: return "Q8_1"
        case .Q2_K: return "Q2_K"
        case .Q3_K: return "Q3_K"
        case .Q4_K: return "Q4_K"
        case .Q5_K: return "Q5_K"
        case .Q6_K: return "Q6_K"
        case .Q8_K: return "Q8_K"
        case .IQ2_XXS: return "IQ2_XXS"
        case .IQ2_XS: return "IQ2_XS"
        case .IQ3_XXS: return "IQ3_XXS"
        case .IQ1_S: return "IQ1_S"
        case .IQ4_NL: return "IQ4_NL"
        case .IQ3_S: return "IQ3_S"
        case .IQ2_S: return "IQ2_S"
        case .IQ4_XS: return "IQ4_XS"
        case .I8: return "I8"
        case .I16: return "I16"
        case .I32: return "I32"
        case .I64: return "I64"
        case .F64: return "F64"
        case .IQ1_M: return "IQ1_M"
        case .BF16: return "BF16"
        case .TQ1_0: return "TQ1_0"
        case .TQ2_0: return "TQ2_0"
        case .MXFP4: return "MXFP4"
        case .NVFP4: return "NVFP4"
        case .Q1_0: return "Q1_0"
        case .Q2_0: return "Q2_0"
        }
    }

    /// Elements per block.
    public var blockSize: Int {
        switch self {
        case .F32, .F16, .BF16, .I8, .I16, .I32, .I64, .F64: return 1
        case .Q4_0, .Q4_1, .Q5_0, .Q5_1, .Q8_0, .Q8_1, .IQ4_NL, .MXFP4: return 32
        case .NVFP4, .Q2_0: return 64
        case .Q1_0: return 128
        default: return 256
        }
    }

    /// Bytes per block.
    public var bytesPerBlock: Int {
        switch self {
        case .F32, .I32: return 4
        case .F16, .BF16, .I16: return 2
        case .I8: return 1
        case .I64, .F64: return 8
        case .Q4_0: return 18
        case .Q4_1: return 20
        case .Q5_0: return 22
        case .Q5_1: return 24
        case .Q8_0: return 34
        case .Q8_1: return 36
        case .Q2_K: return 84
        case .Q3_K: return 110
        case .Q4_K: return 144
        case .Q5_K: return 176
        case .Q6_K: return 210
        case .Q8_K: return 292
        case .IQ2_XXS: return 66
        case .IQ2_XS: return 74
        case .IQ3_XXS: return 98
        case .IQ1_S: return 50
        case .IQ4_NL: return 18
        case .IQ3_S: return 110
        case .IQ2_S: return 82
        case .IQ4_XS: return 136
        case .IQ1_M: return 56
        case .TQ1_0: return 54
        case .TQ2_0: return 66
        case .MXFP4: return 17
        case .NVFP4: return 36
        case .Q1_0, .Q2_0: return 18
        }
    }

    /// Bits per weight of the stored form.
    public var bitsPerWeight: Double { Double(bytesPerBlock * 8) / Double(blockSize) }

    /// Whether it can be dequantized here.
    public var isSupported: Bool { Self.supported.contains(self) }

    /// Whether the stored weights are already quantized (re-quantizing them is then a double quantization);
    /// false for float and integer element types.
    public var isQuantized: Bool { ![.F32, .F16, .BF16, .F64, .I8, .I16, .I32, .I64].contains(self) }

    /// `count` weights stored as this type in `raw` (whole blocks, as in a GGUF tensor), as Float; large
    /// inputs are decoded on all cores.
    public func dequantize(_ raw: UnsafeRawBufferPointer, count: Int) throws -> [Float] {
        guard isSupported else { throw SpQRError(.unsupported, "ggml type \(name) cannot be dequantized here") }
        guard count >= 0, count % blockSize == 0, raw.count >= count / blockSize * bytesPerBlock else {
            throw SpQRError(
                .shapeMismatch,
                "\(count) \(name) weights need whole blocks of \(blockSize) "
                    + "(\(bytesPerBlock) bytes each); \(raw.count) bytes were given")
        }
        return GGMLDequantize.toFloat(raw, type: self, count: count)
    }
}
