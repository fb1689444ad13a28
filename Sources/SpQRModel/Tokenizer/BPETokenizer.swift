// Running a TokenizerDefinition: added tokens are matched first (leftmost, longest), the text between
// them is split (byte-level: PreTokenizer; SentencePiece: not at all, after the "▁" substitution) and
// merged by BPEMerge; encode wraps the ids in the post-processor's prefix and suffix.

import Foundation
import SpQRCore

/// A byte-level or SentencePiece BPE tokenizer read from a model's files.
struct BPETokenizer: TextTokenizer {
    let definition: TokenizerDefinition
    private let index: [[UInt8]: Int32]
    /// Byte-level: the token of each byte's character (-1 if none). SentencePiece: the <0xNN> token of each byte.
    private let byteTokens: [Int32]
    /// Added tokens by their first byte, longest first.
    private let addedByFirstByte: [[AddedToken]]
    private let addedContent: [Int: [UInt8]]
    /// SentencePiece: the byte each <0xNN> token stands for.
    private let byteOfToken: [Int: UInt8]
    /// SentencePiece: whether some merge makes a token with "▁" right after another character.
    private let spaceJoinsPrevious: Bool

    init(_ d: TokenizerDefinition) {
        definition = d
        let index = MergeTable.index(d.tokens)
        self.index = index
        var buckets = [[AddedToken]](repeating: [], count: 256)
        for t in d.added where !t.content.isEmpty { buckets[Int(t.content[0])].append(t) }
        addedByFirstByte = buckets.map { $0.sorted { $0.content.count > $1.content.count } }
        addedContent = Dictionary(d.added.map { ($0.id, $0.content) }, uniquingKeysWith: { a, _ in a })
        switch d.model {
        case .byteLevel:
            byteTokens = ByteLevel.utf8.map { index[$0] ?? -1 }
            byteOfToken = [:]
        case .sentencePiece:
            byteTokens = (0..<256).map { index[Array(String(format: "<0x%02X>", $0).utf8)] ?? -1 }
            byteOfToken = Dictionary(
                uniqueKeysWithValues: byteTokens.enumerated().filter { $0.element >= 0 }.map {
                    (Int($0.element), UInt8($0.offset))
                })
        }
        spaceJoinsPrevious = Set(d.merges.values.map(\.result)).contains { id in
            let s = Array(d.tokens[Int(id)].unicodeScalars)
            return s.indices.dropFirst().contains { s[$0] == "\u{2581}" && s[$0 - 1] != "\u{2581}" }
        }
    }

    var vocabularySize: Int { definition.tokens.count }
    var bosTokenID: Int? { definition.bos }
    var eosTokenID: Int? { definition.eos }

    func encode(_ text: String) -> [Int] { encode(text, addSpecial: true, parseSpecial: true) }

    /// `encode` with llama.cpp's two switches: `addSpecial` adds the post-processor's BOS/EOS,
    /// `parseSpecial` matches added tokens written in the text (both are on in Hugging Face's default).
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int] {
        let source = definition.nfc ? text.precomposedStringWithCanonicalMapping : text
        let bytes = Array(source.utf8)
        var out = addSpecial ? definition.prefix : []
        var cache: [[UInt8]: [Int32]] = [:]
        forEachPiece(bytes, matchingAdded: parseSpecial) { piece in
            switch piece {
            case .added(let id):
                out.append(id)
            case .text(let range):
                switch definition.model {
                case .byteLevel(let pre): encodeByteLevel(bytes[range], pre, &cache, &out)
                case .sentencePiece(let prefix):
                    let space: Bool
                    switch prefix {
                    case .none: space = false
                    case .always: space = true
                    case .metaspaceFirst: space = range.lowerBound == 0 && bytes[0] != 0x20
                    case .metaspaceAlways: space = bytes[range.lowerBound] != 0x20
                    }
                    encodeSentencePiece(bytes[range], space: space, &cache, &out)
                }
            }
        }
        return addSpecial ? out + definition.suffix : out
    }

    private enum Piece { case added(Int), text(Range<Int>) }

    /// Splits `bytes` at added tokens: the leftmost match, the longest at a position, with Hugging Face's
    /// lstrip / rstrip taking the whitespace beside the token.
    private func forEachPiece(_ bytes: [UInt8], matchingAdded: Bool, _ body: (Piece) -> Void) {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
        var segment = 0
        var pos = 0
        outer: while matchingAdded && pos < bytes.count {
            for t in addedByFirstByte[Int(bytes[pos])] where pos + t.content.count <= bytes.count {
                guard bytes[pos..<(pos + t.content.count)].elementsEqual(t.content) else { continue }
                var textEnd = pos
                if t.lstrip { while textEnd > segment && isSpace(bytes[textEnd - 1]) { textEnd -= 1 } }
                if textEnd > segment { body(.text(segment..<textEnd)) }
                body(.added(t.id))
                pos += t.content.count
                if t.rstrip { while pos < bytes.count && isSpace(bytes[pos]) { pos += 1 } }
                segment = pos
                continue outer
            }
            pos += 1
        }
        if segment < bytes.count { body(.text(segment..<bytes.count)) }
    }

    private func encodeByteLevel(
        _ bytes: ArraySlice<UInt8>, _ pre: PreTokenizer, _ cache: inout [[UInt8]: [Int32]], _ out: inout [Int]
    ) {
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        for word in pre.split(scalars) {
            var wordBytes: [UInt8] = []
            for s in scalars[word] { wordBytes.append(contentsOf: UTF8.encode(s)!) }
            if let ids = cache[wordBytes] {
                out.append(contentsOf: ids.lazy.map(Int.init))
                continue
            }
            var ids: [Int32]
            if definition.ignoreMerges, let whole = index[ByteLevel.encode(wordBytes)] {
                ids = [whole]
            } else {
                // A byte with no token (StarCoder's vocabulary lacks some) becomes the unknown token or,
                // without one, is dropped, as llama.cpp does.
                ids = BPEMerge.merge(wordBytes.map { byteTokens[Int($0)] }, definition.merges).compactMap {
                    $0.id >= 0 ? $0.id : definition.unknown.map(Int32.init)
                }
            }
            cache[wordBytes] = ids
            out.append(contentsOf: ids.lazy.map(Int.init))
        }
    }

    private static let spaceMark = Array("\u{2581}".utf8)

    private func encodeSentencePiece(
        _ bytes: ArraySlice<UInt8>, space: Bool, _ cache: inout [[UInt8]: [Int32]], _ out: inout [Int]
    ) {
        // Merged in pieces that start at a "▁" after another character, when no token joins a character
        // to a following "▁" (then no merge crosses such a start and the result is the same), each
        // distinct piece once; only the current piece's characters are held.
        var piece: [[UInt8]] = space ? [Self.spaceMark] : []
        func flush() {
            guard !piece.isEmpty else { return }
            defer { piece.removeAll(keepingCapacity: true) }
            let key = Array(piece.joined())
            if let ids = cache[key] {
                out.append(contentsOf: ids.lazy.map(Int.init))
                return
            }
            var ids: [Int32] = []
            for (i, id) in BPEMerge.merge(piece.map { index[$0] ?? -1 }, definition.merges) {
                if id >= 0 {
                    ids.append(id)
                    continue
                }
                for b in piece[i] {
                    let t = byteTokens[Int(b)]
                    if t >= 0 { ids.append(t) } else if let unk = definition.unknown { ids.append(Int32(unk)) }
                }
            }
            cache[key] = ids
            out.append(contentsOf: ids.lazy.map(Int.init))
        }
        for s in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let character = s == " " ? Self.spaceMark : Array(UTF8.encode(s)!)
            if !spaceJoinsPrevious && character == Self.spaceMark, let last = piece.last, last != Self.spaceMark {
                flush()
            }
            piece.append(character)
        }
        flush()
    }

    func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < definition.tokens.count {
            if let content = addedContent[id] {
                bytes += content
                continue
            }
            switch definition.model {
            case .byteLevel: bytes += ByteLevel.decode(definition.tokens[id])
            case .sentencePiece:
                if let b = byteOfToken[id] {
                    bytes.append(b)
                    continue
                }
                for s in definition.tokens[id].unicodeScalars {
                    if s == "\u{2581}" { bytes.append(0x20) } else { bytes += Array(UTF8.encode(s)!) }
                }
            }
        }
        if case .sentencePiece(let p) = definition.model, p != .none, bytes.first == 0x20 { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension BPETokenizer: CustomStringConvertible {
    /// The kind and size, for summaries: "byte-level BPE (smollm pre-tokenizer), 49152 tokens, BOS not added".
    var description: String {
        let kind: String
        switch definition.model {
        case .byteLevel(let pre): kind = "byte-level BPE (\(pre.rawValue) pre-tokenizer)"
        case .sentencePiece(let prefix): kind = "SentencePiece BPE (\"▁\" prefix: \(prefix.rawValue))"
        }
        let added =
            definition.prefix.isEmpty
            ? "nothing added before the text"
            : "\(definition.prefix.map { "\(decode([$0])) (\($0))" }.joined(separator: " ")) added before the text"
        return "\(kind), \(definition.tokens.count) tokens, \(added)"
    }
}
