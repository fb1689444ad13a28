// A tmux server of the tests' own, to drive the real binary on a real terminal, and reading a field
// off a captured screen.

import Foundation

/// A tmux server of our own for one test.
struct Tmux {
    let socket = "spqr-e2e-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    /// Runs a tmux command with posix_spawn and waitpid, its output going through a file: the tmux server
    /// that the first command starts inherits the client's descriptors, so neither a pipe nor Foundation's
    /// Process (which watches a descriptor for the child's exit) would ever see the command end.
    @discardableResult
    func run(_ args: [String]) -> String {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(socket)-\(UUID().uuidString).out"
        ).path
        defer { unlink(outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ["/usr/bin/tmux", "-L", socket] + args
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        // Start the server with no signal blocked or ignored, whatever this test process has.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        var all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/usr/bin/tmux", &actions, &attributes, &cargs, environ) == 0 else { return "" }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    func keys(_ k: String...) { run(["send-keys", "-t", "e2e"] + k) }
    func literal(_ text: String) { run(["send-keys", "-t", "e2e", "-l", text]) }
    func screen() -> String { run(["capture-pane", "-p", "-t", "e2e"]) }

    /// Waits until the screen satisfies `condition` (up to `seconds`).
    func wait(_ seconds: Double = 60, _ condition: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let s = screen()
            if condition(s) { return s }
            usleep(100_000)
        }
        return nil
    }

    func start(width: Int, height: Int) {
        run([
            "-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", "\(width)", "-y", "\(height)", "env",
            "PS1=e2e$ ", "bash", "--norc", "--noprofile",
        ])
        run(["set-option", "-g", "default-terminal", "tmux-256color"])
    }

    func stop() { run(["kill-server"]) }
}

/// The value after `label` on the line that holds it.
func field(_ screen: String, _ label: String) -> String? {
    for line in screen.split(separator: "\n") {
        guard let r = line.range(of: label) else { continue }
        return line[r.upperBound...].trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
    }
    return nil
}
