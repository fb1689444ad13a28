// NumPy .npy (format versions 1.0, 2.0, 3.0): "\x93NUMPY", major, minor, header length (u16 for 1.x,
// u32 for 2.x/3.x), a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
// padded with spaces to a multiple of 64, then the data. Source: numpy/lib/format.py.
// Read here: little-endian f2/f4/f8, C order, 2-D (calibration activations X [n, in]).

import Foundation

/// A 2-D float array from a .npy file.
public enum NumpyArray {
    /// Reads X as a matrix.
    public static func read(path: String) throws -> Matrix {
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(m)") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw SpQRError(.io, "\(path): cannot open (\((error as NSError).localizedDescription))")
        }
        var r = ByteReader(data: data, path: path)
        guard try r.bytes(6, what: "magic") == [0x93] + Array("NUMPY".utf8) else { throw fail("not a .npy file (bad magic)") }
        let version = try r.bytes(2, what: "version")
        let headerLength: Int
        switch version[0] {
        case 1: headerLength = Int(try r.load("header length", as: UInt16.self))
        case 2, 3: headerLength = Int(try r.u32("header length"))
        default: throw fail(".npy version \(version[0]).\(version[1]) is not supported (1.0, 2.0, 3.0 are)")
        }
        guard headerLength <= 1 << 20 else { throw fail("header length \(headerLength) is absurd") }
        guard let header = String(validating: try r.bytes(headerLength, what: "header"), as: UTF8.self) else { throw fail("header is not text") }
        func field(_ key: String) -> String? {
            guard let k = header.range(of: "'\(key)':") else { return nil }
            return String(header[k.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descr = field("descr")?.split(separator: "'").first.map(String.init) else { throw fail("header has no descr") }
        if field("fortran_order")?.hasPrefix("True") == true {
            throw fail("the array is in Fortran order; save it with numpy.ascontiguousarray first")
        }
        guard let shapeText = field("shape"), let open = shapeText.firstIndex(of: "("),
              let close = shapeText[open...].firstIndex(of: ")") else {
            throw fail("header has no shape tuple")
        }
        let dims = shapeText[shapeText.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { d -> Int in
            guard let v = Int(d), v >= 0 else { throw fail("shape entry '\(d)' is not a non-negative integer") }
            return v
        }
        guard shape.count == 2 else { throw fail("shape \(shape): activations must be 2-D [n, in]") }
        let dtype: SafetensorsDType
        switch descr {
        case "<f4", "=f4": dtype = .F32
        case "<f8", "=f8": dtype = .F64
        case "<f2", "=f2": dtype = .F16
        default: throw fail("dtype '\(descr)' is not supported (little-endian f2, f4, f8 are)")
        }
        let (count, o1) = shape[0].multipliedReportingOverflow(by: shape[1])
        let (bytes, o2) = count.multipliedReportingOverflow(by: dtype.size)
        guard !o1, !o2, bytes <= data.count - r.offset else {
            throw fail("truncated: shape \(shape) of \(descr) needs \(bytes) bytes, \(data.count - r.offset) remain")
        }
        let values = data.withUnsafeBytes { FloatConversion.toFloat(UnsafeRawBufferPointer(rebasing: $0[r.offset..<(r.offset + bytes)]), dtype: dtype) }
        return Matrix(rows: shape[0], cols: shape[1], values: values)
    }
}

/// Calibration activations (safetensors tensor or .npy) as a calibration source: H = 2XᵀX/n.
public struct ActivationsCalibration: CalibrationSource {
    public let file: String?
    public let tensor: String?
    public var kind: CalibrationKind { .activations }
    public var label: String { "activations \((file! as NSString).lastPathComponent) (H = 2XᵀX/n)" }

    public init(path: String, tensor: String?) {
        file = path
        self.tensor = tensor
    }

    public func hessian(forLayer layer: String, inFeatures n: Int) throws -> Matrix {
        let x: Matrix
        if file!.hasSuffix(".npy") {
            x = try NumpyArray.read(path: file!)
        } else {
            x = try SafetensorsMatrixCalibration(path: file!, tensor: tensor, kind: .activations).activations(inFeatures: n)
        }
        guard x.cols == n else {
            throw SpQRError(.shapeMismatch, "\(file!): activations have \(x.cols) columns but layer \(layer) has \(n) inputs")
        }
        return try Hessian.fromActivations(x)
    }
}
