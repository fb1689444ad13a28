// Writing a picture as a PNG file: libpng encodes it in memory (Sources/CPNG/shim.h), then the file is
// written atomically (a temporary file beside the target, renamed over it), so a failure leaves no
// half-written file and an existing file intact.

import CPNG
import Foundation
import SpQRCore

enum PNGFile {
    /// The PNG encoding of `image`.
    static func encode(_ image: RGBImage) throws -> Data {
        guard image.width > 0, image.height > 0 else {
            throw SpQRError(.invalidSetting, "cannot encode an empty picture (\(image.width)×\(image.height))")
        }
        var message = [CChar](repeating: 0, count: 256)
        var out: UnsafeMutablePointer<CChar>?
        var size = 0
        let rc = image.bytes.withUnsafeBufferPointer { px in
            spqr_png_encode_rgb(px.baseAddress, UInt32(image.width), UInt32(image.height), &out, &size, &message)
        }
        defer { free(out) }
        guard rc == 0, let out else {
            throw SpQRError(.io, "libpng could not encode the picture: \(text(message))")
        }
        return Data(bytes: out, count: size)
    }

    /// The text of libpng's NUL-terminated message.
    static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `image` to `path` as a PNG, atomically.
    static func write(_ image: RGBImage, to path: String) throws {
        try AtomicFile.write(try encode(image), to: path)
    }
}
