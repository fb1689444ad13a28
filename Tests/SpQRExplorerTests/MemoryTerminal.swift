// A terminal for the app-loop tests: it replays scripted events and keeps the frames it is given.

import Foundation

@testable import SpQRExplorer

/// An in-memory terminal: scripted events, every frame presented kept.
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
