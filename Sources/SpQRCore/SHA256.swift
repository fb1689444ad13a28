// SHA-256 (FIPS 180-4, §6.2), streaming, for the file hashes recorded in recipes.
//
//   message schedule  W_t = σ1(W_{t−2}) + W_{t−7} + σ0(W_{t−15}) + W_{t−16}
//   compression       T1 = h + Σ1(e) + Ch(e,f,g) + K_t + W_t;  T2 = Σ0(a) + Maj(a,b,c)
// Padding: a 1 bit, zeros, and the 64-bit big-endian message length in bits.
//
// Computed by OpenSSL's libcrypto (EVP), which uses the CPU's SHA instructions when it has them: about
// 1.4 GB/s per core with them, against 130 MB/s for a portable implementation, which is what recipe
// exports of multi-gigabyte checkpoints wait on.

import COpenSSL
import Foundation

/// An incremental SHA-256 hasher (a value: copies hash independently).
public struct SHA256: @unchecked Sendable {
    /// One EVP digest context; shared between copies until one of them is updated.
    private final class Context {
        let pointer: OpaquePointer

        init() {
            guard let p = EVP_MD_CTX_new(), EVP_DigestInit_ex(p, EVP_sha256(), nil) == 1 else {
                fatalError("libcrypto could not start a SHA-256 digest")
            }
            pointer = p
        }

        init(copying other: Context) {
            guard let p = EVP_MD_CTX_new(), EVP_MD_CTX_copy_ex(p, other.pointer) == 1 else {
                fatalError("libcrypto could not copy a SHA-256 digest")
            }
            pointer = p
        }

        deinit { EVP_MD_CTX_free(pointer) }
    }

    private var context = Context()

    public init() {}

    /// Adds bytes to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context.pointer, bytes.baseAddress, bytes.count) == 1 else {
            fatalError("libcrypto could not update a SHA-256 digest")
        }
    }

    /// Adds a `Data` value to the message.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// The digest as 64 lowercase hex digits (the hasher can go on taking bytes).
    public func hexDigest() -> String {
        let final = Context(copying: context)
        var digest = [UInt8](repeating: 0, count: 32)
        var size: UInt32 = 0
        guard EVP_DigestFinal_ex(final.pointer, &digest, &size) == 1, size == 32 else {
            fatalError("libcrypto could not finish a SHA-256 digest")
        }
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    /// The SHA-256 of a file, read memory-mapped in 4 MiB steps. `progress` gets the bytes of each step;
    /// `cancel` is checked before each step (throws `SpQRError.cancelled`).
    public static func file(
        _ path: String, cancel: CancellationToken? = nil,
        progress: ((_ bytes: Int) -> Void)? = nil
    ) throws -> String {
        try file(path, stop: { cancel?.isCancelled ?? false }, progress: progress)
    }

    /// `file(_:cancel:progress:)` with a general stop condition, checked between chunks of `chunk` bytes.
    static func file(_ path: String, chunk: Int = 4 << 20, stop: () -> Bool, progress: ((_ bytes: Int) -> Void)?) throws
        -> String
    {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SpQRError(.io, "\(path): cannot read to hash it (\((error as NSError).localizedDescription))")
        }
        var hasher = SHA256()
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                if stop() { throw SpQRError.cancelled }
                let end = min(offset + chunk, raw.count)
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
                progress?(end - offset)
                offset = end
            }
        }
        return hasher.hexDigest()
    }
}
