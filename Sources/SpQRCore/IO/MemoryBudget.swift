// The memory guard: before a reader materialises something the file's header sized (a tensor as Float,
// a metadata array, a Hessian unpacked to [in, in]) it compares the bytes it will allocate with the
// memory available, so that a 100 GB tensor is refused with a message instead of ending the process
// with "failed to allocate" (an abort no caller can catch).
//
//   available = min(MemAvailable from /proc/meminfo,
//                   memory.max − memory.current of the process's cgroup v2, when limited)
//
// falling back to half the physical memory where /proc/meminfo is missing (not Linux).

import Foundation

/// The memory available for one allocation, and the check against it.
public enum MemoryBudget {
    /// Bytes that can be allocated without pushing the machine (or the container) into swap or the
    /// OOM killer.
    public static func available() -> Int {
        var best: Int?
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") })
        {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) {
                best = kib * (fields.count >= 3 && fields[2] == "kB" ? 1024 : 1)
            }
        }
        if let limit = cgroupHeadroom() { best = min(best ?? limit, limit) }
        return best ?? Int(ProcessInfo.processInfo.physicalMemory / 2)
    }

    /// memory.max − memory.current of this process's cgroup (v2), when it has a limit.
    static func cgroupHeadroom() -> Int? {
        guard let own = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
            let line = own.split(separator: "\n").first(where: { $0.hasPrefix("0::") })
        else { return nil }
        let dir = "/sys/fs/cgroup" + line.dropFirst(3)
        func value(_ file: String) -> Int? {
            (try? String(contentsOfFile: dir + "/" + file, encoding: .utf8)).flatMap {
                Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        guard let max = value("memory.max"), let current = value("memory.current") else { return nil }
        return Swift.max(0, max - current)
    }

    /// Throws when allocating `bytes` for `what` (read from `path`) would not fit the available memory;
    /// the message names the thing, its size and what to do.
    public static func check(
        bytes: Int, for what: String, path: String,
        advice: String = "use a machine with more memory, or choose a smaller tensor"
    ) throws {
        // Small allocations cannot matter; skipping them keeps /proc reads off the hot paths.
        guard bytes > 64 << 20 else { return }
        let free = available()
        guard bytes > free else { return }
        throw SpQRError(
            .tooLarge,
            "\(path): \(what) needs \(format(bytes)) in memory but only \(format(free)) is available; \(advice)")
    }

    /// Checks the Float copy of a tensor of `elements` elements.
    public static func checkFloats(_ elements: Int, tensor: String, path: String) throws {
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        try check(
            bytes: overflow ? Int.max : bytes, for: "tensor \"\(tensor)\" (\(elements) values as Float)", path: path,
            advice: "it cannot be loaded whole here. Use a machine with more memory or a smaller tensor; "
                + "`spqr-explorer layers --stats` still summarises it without loading it")
    }

    /// Checks the [n, n] Float Hessian of a layer with `n` inputs (`source` says where it comes from).
    public static func checkHessian(_ n: Int, layer: String, source: String) throws {
        let (elements, overflow) = n.multipliedReportingOverflow(by: n)
        let (bytes, overflow2) = elements.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        try check(
            bytes: overflow || overflow2 ? Int.max : bytes, for: "the [\(n), \(n)] Hessian (\(source))", path: layer,
            advice: "a layer with \(n) inputs is too wide to quantize on this machine")
    }

    /// A byte count for messages: "200.0 GiB" (under 1 KiB: "512 bytes").
    public static func format(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var v = Double(bytes)
        var u = 0
        while v >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(bytes) bytes" : String(format: "%.1f %@", v, units[u])
    }
}
