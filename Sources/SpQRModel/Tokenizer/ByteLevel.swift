// GPT-2's reversible map from bytes to printable characters (`bytes_to_unicode` in openai/gpt-2's
// encoder.py, Hugging Face's ByteLevel): the printable Latin-1 bytes 0x21–0x7E, 0xA1–0xAC, 0xAE–0xFF map
// to themselves; the other 68 bytes, in order, map to U+0100, U+0101, … . Byte-level BPE vocabularies
// are written in these characters (a space is "Ġ", a newline "Ċ").

enum ByteLevel {
    /// The character of each byte.
    static let characters: [Unicode.Scalar] = {
        var map = [Unicode.Scalar](repeating: "\0", count: 256)
        var extra: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                map[b] = Unicode.Scalar(UInt32(b))!
            } else {
                map[b] = Unicode.Scalar(extra)!
                extra += 1
            }
        }
        return map
    }()

    /// The byte of each character of the map (nil elsewhere).
    static func byte(_ s: Unicode.Scalar) -> UInt8? {
        let v = s.value
        if v < 256 { return characters[Int(v)] == s ? UInt8(v) : nil }
        return bytesOfExtra[Int(v)]
    }

    private static let bytesOfExtra: [Int: UInt8] = {
        var d: [Int: UInt8] = [:]
        for (b, c) in characters.enumerated() where c.value >= 256 { d[Int(c.value)] = UInt8(b) }
        return d
    }()

    /// The UTF-8 of the mapped characters of `bytes` (the form vocabulary entries are written in).
    static func encode<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes { out.append(contentsOf: utf8[Int(b)]) }
        return out
    }

    /// The UTF-8 of each byte's character.
    static let utf8: [[UInt8]] = characters.map { Array(String($0).utf8) }

    /// The bytes a vocabulary entry stands for; characters outside the map are kept as their UTF-8.
    static func decode(_ token: String) -> [UInt8] {
        var out: [UInt8] = []
        for s in token.unicodeScalars {
            if let b = byte(s) { out.append(b) } else { out.append(contentsOf: Array(String(s).utf8)) }
        }
        return out
    }
}
