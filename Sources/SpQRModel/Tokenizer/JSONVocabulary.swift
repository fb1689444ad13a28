// The `"vocab": {"token": id, …}` object of a tokenizer.json, read straight from its bytes. Foundation's
// JSON readers build Swift dictionaries, whose String keys compare by canonical equivalence: two
// vocabulary entries such as "ά" (U+03AC) and "ά" (U+03B1 U+0301) would become one and a token would
// be lost. Here every key keeps its exact code points (JSON strings per RFC 8259: escapes \" \\ \/ \b
// \f \n \r \t and \uXXXX, with surrogate pairs).

import SpQRCore

enum JSONVocabulary {
    /// The (token, id) pairs of the first object-valued "vocab" key in `bytes`.
    static func entries(_ bytes: [UInt8], path: String) throws -> [(String, Int)] {
        func fail(_ s: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(s)") }
        let key = Array("\"vocab\"".utf8)
        var at = 0
        func skipSpace() { while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 } }
        search: while true {
            guard let start = find(key, in: bytes, from: at) else {
                throw fail("no \"vocab\" object in the tokenizer model")
            }
            at = start + key.count
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { continue search }
            at += 1
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "{") { break search }
        }
        at += 1
        var out: [(String, Int)] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { return out }
        while true {
            skipSpace()
            let token = try string(bytes, &at, fail)
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else {
                throw fail("vocab: expected ':' after \"\(token)\"")
            }
            at += 1
            skipSpace()
            var id = 0
            var digits = 0
            while at < bytes.count, (0x30...0x39).contains(bytes[at]), digits < 12 {
                id = id * 10 + Int(bytes[at] - 0x30)
                at += 1
                digits += 1
            }
            guard digits > 0 else { throw fail("vocab: the id of \"\(token)\" is not a non-negative integer") }
            out.append((token, id))
            skipSpace()
            guard at < bytes.count else { throw fail("vocab: the object is not closed") }
            if bytes[at] == UInt8(ascii: "}") { return out }
            guard bytes[at] == UInt8(ascii: ",") else {
                throw fail("vocab: expected ',' or '}' after the id of \"\(token)\"")
            }
            at += 1
        }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = from
        while i <= bytes.count - needle.count {
            if bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    private static func string(_ b: [UInt8], _ at: inout Int, _ fail: (String) -> SpQRError) throws -> String {
        guard at < b.count, b[at] == UInt8(ascii: "\"") else { throw fail("vocab: expected a string key") }
        at += 1
        var out: [UInt8] = []
        func hex4() throws -> UInt32 {
            guard at + 4 <= b.count, let v = UInt32(String(decoding: b[at..<(at + 4)], as: UTF8.self), radix: 16) else {
                throw fail("vocab: bad \\u escape")
            }
            at += 4
            return v
        }
        while at < b.count {
            let c = b[at]
            at += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                continue
            }
            guard at < b.count else { break }
            let e = b[at]
            at += 1
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), at + 1 < b.count, b[at] == UInt8(ascii: "\\"),
                    b[at + 1] == UInt8(ascii: "u")
                {
                    at += 2
                    let low = try hex4()
                    v = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                }
                out.append(contentsOf: UTF8.encode(Unicode.Scalar(v) ?? "\u{FFFD}")!)
            default: out.append(e)  // \" \\ \/
            }
        }
        throw fail("vocab: a string is not closed")
    }
}
