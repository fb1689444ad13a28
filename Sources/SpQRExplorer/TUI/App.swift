// The explorer's loop: render the state, present it, wait briefly for input, reduce input and effect
// results, hand new effects to the runner. Long work never runs here.

import Foundation
import SpQRCore

final class ExplorerApp {
    private(set) var state: AppState
    let terminal: Terminal
    let runner: EffectRunner
    /// Milliseconds to wait for input per turn of the loop.
    let tick: Int

    init(state: AppState, terminal: Terminal, runner: EffectRunner, tick: Int = 40) {
        self.state = state
        self.terminal = terminal
        self.runner = runner
        self.tick = tick
    }

    func dispatch(_ e: AppEvent) {
        Self.step(&state, e, runner)
    }

    /// Holds what an event replaced until a background queue lets it go.
    private final class Discarded: @unchecked Sendable {
        var layer: LayerSession?
        init(_ layer: LayerSession?) { self.layer = layer }
    }

    private static let discarding = DispatchQueue(label: "spqr.discard", qos: .utility)

    /// Reduces `e` and hands its effects to `runner`. What the event replaced — a layer's result and maps,
    /// hundreds of MB on a big layer, whose release unmaps every page — is let go on a background queue,
    /// not on the input loop.
    static func step(_ state: inout AppState, _ e: AppEvent, _ runner: EffectRunner) {
        let replaced = Discarded(state.layer)
        runner.run(Reducer.reduce(&state, e))
        discarding.async { replaced.layer = nil }
    }

    /// Runs until the user quits (or, for tests, until `maxTurns` turns have passed).
    func run(maxTurns: Int? = nil, crashAfterFirstFrame: Bool = false) {
        var dirty = true
        var turns = 0
        var pooled = PooledViewCache.completed
        dispatch(.terminal(.resize(width: terminal.size.width, height: terminal.size.height)))
        runner.run(Reducer.statisticsEffect(state))
        while !state.quit {
            // A view pooled in the background since the last frame is drawn now.
            if PooledViewCache.completed != pooled {
                pooled = PooledViewCache.completed
                dirty = true
            }
            if dirty || runner.busy {
                terminal.present(Renderer.render(state))
                dirty = false
                if crashAfterFirstFrame { fatalError("SPQR_DEBUG_CRASH: forced fatal error after the first frame") }
            }
            if let e = terminal.nextEvent(timeoutMilliseconds: tick) {
                dispatch(.terminal(e))
                dirty = true
            }
            for e in runner.drain() {
                dispatch(e)
                dirty = true
            }
            turns += 1
            if let m = maxTurns, turns >= m { break }
        }
        terminal.restore()
    }

    /// The first state for a checkpoint: its tensors as rows.
    static func initialState(
        checkpoint: any Checkpoint, calibration: any CalibrationSource, settings: SpQRConfig,
        width: Int, height: Int, capabilities: TerminalCapabilities
    ) -> AppState {
        let rows = checkpoint.tensors.map(LayerRow.init)
        var s = AppState(
            checkpointPath: checkpoint.path, calibrationLabel: calibration.label, calibrationKind: calibration.kind,
            rows: rows, width: width, height: height, capabilities: capabilities)
        s.defaults = settings
        s.clusterState.heads = AttentionHeads.read(checkpoint)
        if let first = s.visibleRows.firstIndex(where: \.quantizable) { s.selection = first }
        if calibration.kind == .none {
            s.message =
                "no calibration data: H = I (data-free); open with --hessians, --activations or --imatrix for output error"
        }
        return s
    }
}
