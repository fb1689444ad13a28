// The one seam between the explorer and a terminal: size, present a frame, next input event. The ncurses
// implementation is the only code that touches the terminal; the tests have an in-memory one.

/// Keys the explorer distinguishes.
enum Key: Equatable, Hashable, Sendable {
    case char(Character)
    case enter, escape, backspace, tab, backTab, up, down, left, right, pageUp, pageDown, home, end, delete
    case ctrl(Character)
}

/// A mouse event in cell coordinates.
enum MouseEvent: Equatable, Sendable {
    case click(x: Int, y: Int)
    case wheelUp(x: Int, y: Int)
    case wheelDown(x: Int, y: Int)
}

/// Terminal input.
enum TerminalEvent: Equatable, Sendable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(width: Int, height: Int)
}

/// What the terminal can show.
struct TerminalCapabilities: Equatable, Sendable {
    /// Number of colours: 0 (none), 8, 16 or 256.
    var colors: Int
    /// Whether the locale is UTF-8 (half blocks and box glyphs); ASCII otherwise.
    var unicode: Bool

    static let full = TerminalCapabilities(colors: 256, unicode: true)
}

/// A terminal.
protocol Terminal: AnyObject {
    var size: (width: Int, height: Int) { get }
    var capabilities: TerminalCapabilities { get }
    /// Shows the frame (sending only what changed since the last one).
    func present(_ buffer: CellBuffer)
    /// The next input event, waiting at most `timeoutMilliseconds`.
    func nextEvent(timeoutMilliseconds: Int) -> TerminalEvent?
    /// Gives the terminal back (idempotent).
    func restore()
}
