// The ncurses terminal: the only file that calls ncurses. It sets the locale first, switches to the
// alternate screen, sends only changed cells, reads wide characters, mouse and resize events, and gives
// the terminal back on every way out: normal exit, errors, SIGINT/SIGTERM/SIGHUP, and crashes
// (fatal-error traps, segmentation faults) through signal handlers that call endwin before dying.

import CNcurses
import Foundation

/// Whether ncurses currently owns the terminal (read by the signal handlers).
nonisolated(unsafe) private var cursesActive = false

private func restoreTerminalFromSignal(_ signal: Int32) {
    if cursesActive {
        cursesActive = false
        endwin()
    }
}

final class NcursesTerminal: Terminal {
    let capabilities: TerminalCapabilities
    private var previous: CellBuffer?
    private var pairs: [Int: Int32] = [:]
    private var nextPair: Int32 = 1
    private let maxPairs: Int32

    /// Takes over the terminal. Throws when standard input or output is not a terminal.
    init() throws {
        setlocale(spqr_lc_all(), "")
        // ncurses learns of resizes through SIGWINCH, which a parent may have left blocked or ignored.
        signal(SIGWINCH, SIG_DFL)
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw SpQRExplorerError(
                "the explorer needs a terminal on standard input and output; for scripts use the headless commands (spqr-explorer --help)"
            )
        }
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        guard !term.isEmpty, term != "dumb" else {
            throw SpQRExplorerError(
                "TERM=\(term.isEmpty ? "(unset)" : term) cannot address the cursor; run the explorer in a terminal such as xterm-256color, or use the headless commands (spqr-explorer --help)"
            )
        }
        // newterm, unlike initscr, returns instead of exiting when the terminal type is unknown.
        guard let output = fdopen(STDOUT_FILENO, "w"), let input = fdopen(STDIN_FILENO, "r"),
            let screen = newterm(nil, output, input)
        else {
            throw SpQRExplorerError(
                "ncurses does not know the terminal type TERM=\(term); set TERM to one your system knows (for example xterm-256color)"
            )
        }
        set_term(screen)
        cursesActive = true
        Self.installSignalHandlers()
        cbreak()
        noecho()
        nonl()
        keypad(spqr_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        mousemask(spqr_all_mouse_events(), nil)
        mouseinterval(0)
        var colors = 0
        if has_colors() {
            start_color()
            use_default_colors()
            colors =
                Int(spqr_colors()) >= 256 ? 256 : (Int(spqr_colors()) >= 16 ? 16 : (Int(spqr_colors()) >= 8 ? 8 : 0))
        }
        maxPairs = Int32(min(Int(spqr_color_pairs()), 65535))
        capabilities = TerminalCapabilities(
            colors: colors, unicode: codeset.uppercased().replacingOccurrences(of: "-", with: "") == "UTF8")
    }

    deinit { restore() }

    static func installSignalHandlers() {
        // A parent may have left these blocked (the mask is inherited across exec): unblock them so that
        // they reach the handlers below and ncurses.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGWINCH] { sigaddset(&unblock, sig) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { s in
                restoreTerminalFromSignal(s)
                _exit(128 + s)
            }
        }
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] {
            signal(sig) { s in
                restoreTerminalFromSignal(s)
                signal(s, SIG_DFL)
                raise(s)
            }
        }
    }

    var size: (width: Int, height: Int) { (Int(spqr_cols()), Int(spqr_lines())) }

    private func pair(_ style: Style) -> Int32 {
        guard capabilities.colors > 0 else { return 0 }
        func code(_ c: TermColor) -> Int { if case .index(let i) = c { return Int(i) } else { return -1 } }
        let fg = code(style.fg)
        let bg = code(style.bg)
        if fg < 0 && bg < 0 { return 0 }
        let key = (fg + 1) * 512 + (bg + 1)
        if let p = pairs[key] { return p }
        guard nextPair < maxPairs else { return 0 }
        let p = nextPair
        nextPair += 1
        init_extended_pair(p, Int32(fg), Int32(bg))
        pairs[key] = p
        return p
    }

    func present(_ buffer: CellBuffer) {
        if let p = previous, p.width != buffer.width || p.height != buffer.height { clearok(spqr_stdscr(), true) }
        for index in buffer.changes(from: previous) {
            let cell = buffer.cells[index]
            // The right half of a wide glyph is drawn with its left half.
            if cell.width == 0 { continue }
            var attrs = spqr_a_normal()
            if cell.style.attributes.contains(.bold) { attrs |= spqr_a_bold() }
            if cell.style.attributes.contains(.reverse) { attrs |= spqr_a_reverse() }
            if cell.style.attributes.contains(.dim) { attrs |= spqr_a_dim() }
            // A glyph and its combining marks, as the zero-terminated string setcchar takes.
            let text = ([cell.glyph] + cell.marks.prefix(Int(spqr_ccharw_max()) - 1)).map { wchar_t($0.value) } + [0]
            _ = text.withUnsafeBufferPointer { chars in
                spqr_put_wchs(
                    Int32(index / buffer.width), Int32(index % buffer.width), chars.baseAddress, attrs, pair(cell.style)
                )
            }
        }
        refresh()
        previous = buffer
    }

    func nextEvent(timeoutMilliseconds: Int) -> TerminalEvent? {
        wtimeout(spqr_stdscr(), Int32(timeoutMilliseconds))
        var ch: wint_t = 0
        let r = wget_wch(spqr_stdscr(), &ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES {
            switch Int32(ch) {
            case spqr_key_resize(): return .resize(width: Int(spqr_cols()), height: Int(spqr_lines()))
            case spqr_key_mouse():
                var m = MEVENT()
                guard getmouse(&m) == OK else { return nil }
                if m.bstate & spqr_button4_pressed() != 0 { return .mouse(.wheelUp(x: Int(m.x), y: Int(m.y))) }
                if m.bstate & spqr_button5_pressed() != 0 { return .mouse(.wheelDown(x: Int(m.x), y: Int(m.y))) }
                if m.bstate & (spqr_button1_pressed() | spqr_button1_clicked()) != 0 {
                    return .mouse(.click(x: Int(m.x), y: Int(m.y)))
                }
                return nil
            case KEY_UP: return .key(.up)
            case KEY_DOWN: return .key(.down)
            case KEY_LEFT: return .key(.left)
            case KEY_RIGHT: return .key(.right)
            case KEY_PPAGE: return .key(.pageUp)
            case KEY_NPAGE: return .key(.pageDown)
            case KEY_HOME: return .key(.home)
            case KEY_END: return .key(.end)
            case KEY_DC: return .key(.delete)
            case KEY_BACKSPACE: return .key(.backspace)
            case KEY_ENTER: return .key(.enter)
            case KEY_BTAB: return .key(.backTab)
            default: return nil
            }
        }
        switch ch {
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 127, 8: return .key(.backspace)
        case 9: return .key(.tab)
        case 1...26: return .key(.ctrl(Character(Unicode.Scalar(UInt8(ch) + 96))))
        default:
            guard let s = Unicode.Scalar(UInt32(ch)) else { return nil }
            return .key(.char(Character(s)))
        }
    }

    func restore() {
        if cursesActive {
            cursesActive = false
            endwin()
        }
    }
}
