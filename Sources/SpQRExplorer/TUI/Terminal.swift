import Foundation

// The one seam between the explorer and a terminal: size, present a frame, next input event. The ncurses
// implementation is the only code that touches the terminal; tests use `MemoryTerminal`.

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

/// An in-memory terminal for tests: scripted events, the last frame kept.
final class MemoryTerminal: Terminal {
    var size: (width: Int, height: Int)
    var capabilities: TerminalCapabilities
    var events: [TerminalEvent]
    private(set) var frames: [CellBuffer] = []
    private(set) var restored = false

    init(width: Int, height: Int, capabilities: TerminalCapabilities = .full, events: [TerminalEvent] = []) {
        size = (width, height)
        self.capabilities = capabilities
        self.events = events
    }

    func present(_ buffer: CellBuffer) { frames.append(buffer) }

    func nextEvent(timeoutMilliseconds: Int) -> TerminalEvent? {
        if events.isEmpty {
            usleep(useconds_t(min(timeoutMilliseconds, 5) * 1000))
            return nil
        }
        return events.removeFirst()
    }

    func restore() { restored = true }
}
