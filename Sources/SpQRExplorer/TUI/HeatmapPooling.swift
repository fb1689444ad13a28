// Pooling: how the weights under one heatmap pixel become one value. For the n weights x_i of a pixel:
// mean = Σx_i/n, max = max x_i (max |x_i| for signed maps), RMS = √(Σx_i²/n), density = #outliers/n
// (the outlier map is 0/1, so its mean). The pooled values of a viewport are computed in one pass over
// the weights it shows and kept per viewport, so redrawing, moving the cursor or switching the pooling
// reads no weight again. That pass scales with the layer (28 M weights for a 49152×576 embedding), so the
// explorer's maps pool in the background: a frame that needs a view not pooled yet asks for it and draws
// without it, and the loop redraws when `PooledViewCache.completed` moves.

import Dispatch
import Foundation
import Synchronization

/// How the weights under one heatmap pixel are combined (key `c` cycles the current mode's choices).
enum Pooling: String, CaseIterable, Sendable {
    case mean, max, rms = "RMS", density

    /// The poolings that make sense for `mode`, the default first.
    static func choices(_ mode: HeatmapMode) -> [Pooling] {
        switch mode {
        case .outliers: return [.density, .max]
        case .delta: return [.mean, .rms, .max]
        case .weight, .sensitivity, .error: return [.mean, .max, .rms]
        }
    }

    /// The pooling after this one for `mode`.
    func next(_ mode: HeatmapMode) -> Pooling {
        let c = Self.choices(mode)
        return c[((c.firstIndex(of: self) ?? -1) + 1) % c.count]
    }

    /// Whether the pooled values are signed (shown on a diverging scale).
    static func signed(_ mode: HeatmapMode, _ p: Pooling) -> Bool { mode == .delta && p == .mean }
    /// Whether the pooled values are yes/no.
    static func binary(_ mode: HeatmapMode, _ p: Pooling) -> Bool { mode == .outliers && p == .max }
}

/// Per-pixel sums of one mode over a viewport: `width` cell columns × `height` pixel rows, row-major.
struct PooledGrid: Sendable {
    let width: Int
    let height: Int
    let sum: [Float]
    let sumSquares: [Float]
    /// Largest |value| under each pixel.
    let maxAbs: [Float]
    let count: [Float]

    /// Pools the weights of `maps` in `mode` under each pixel of `g`.
    init(_ maps: HeatmapMaps, _ mode: HeatmapMode, _ g: HeatmapGeometry) {
        self.init(
            maps, mode, rowRanges: (0..<max(0, 2 * g.area.height)).map { g.rowRange(pixel: $0) },
            colRanges: (0..<max(0, g.area.width)).map { g.colRange(cell: $0) })
    }

    /// Pools the weights of `maps` in `mode` over each pair of a row range and a column range (a pixel).
    init(_ maps: HeatmapMaps, _ mode: HeatmapMode, rowRanges: [Range<Int>], colRanges: [Range<Int>]) {
        width = colRanges.count
        height = rowRanges.count
        var sum = [Float](repeating: 0, count: width * height)
        var sq = sum
        var mx = sum
        var n = sum
        switch mode {
        case .weight:
            Self.accumulate(maps.weights, { $0 }, nil, abs: true, maps.cols, rowRanges, colRanges, &sum, &sq, &mx, &n)
        case .sensitivity:
            Self.accumulate(
                maps.sensitivity, { $0 }, nil, abs: false, maps.cols, rowRanges, colRanges, &sum, &sq, &mx, &n)
        case .error:
            Self.accumulate(maps.error, { $0 }, nil, abs: false, maps.cols, rowRanges, colRanges, &sum, &sq, &mx, &n)
        case .outliers:
            Self.accumulate(
                maps.mask, { Float($0) }, nil, abs: false, maps.cols, rowRanges, colRanges, &sum, &sq, &mx, &n)
        case .delta:
            Self.accumulate(
                maps.quantized, { $0 }, maps.weights, abs: false, maps.cols, rowRanges, colRanges, &sum, &sq, &mx, &n)
        }
        self.sum = sum
        sumSquares = sq
        maxAbs = mx
        count = n
    }

    /// Sums over each pixel of x = |f(a)| (abs), f(a), or f(a) − b (b given), read through unsafe buffers: this
    /// pass visits every weight of the view once, pixel rows on all cores when the view is large (each
    /// pixel row writes only its own sums).
    private static func accumulate<T>(
        _ a: [T], _ f: (T) -> Float, _ b: [Float]?, abs useAbs: Bool, _ cols: Int, _ rowRanges: [Range<Int>],
        _ colRanges: [Range<Int>], _ sum: inout [Float], _ sq: inout [Float], _ mx: inout [Float],
        _ n: inout [Float]
    ) {
        let width = colRanges.count
        let weights = rowRanges.reduce(0) { $0 + $1.count } * colRanges.reduce(0) { $0 + $1.count }
        let parallel = weights >= 1 << 20 && rowRanges.count > 1
        // Whether the cells' columns lie side by side, each at least one column (not zoomed past a column
        // per cell), so a row of the view is one scan.
        let tiled =
            colRanges.allSatisfy { !$0.isEmpty }
            && zip(colRanges, colRanges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }
        a.withUnsafeBufferPointer { pa in
            (b ?? []).withUnsafeBufferPointer { pb in
                sum.withUnsafeMutableBufferPointer { sum in
                    sq.withUnsafeMutableBufferPointer { sq in
                        mx.withUnsafeMutableBufferPointer { mx in
                            n.withUnsafeMutableBufferPointer { n in
                                let hasB = b != nil
                                // Matrix rows outer, columns inner: each row of the view is read once, in
                                // order.
                                func pixelRow(_ py: Int) {
                                    let rr = rowRanges[py]
                                    let out = py * width
                                    for cx in 0..<width {
                                        sum[out + cx] = 0
                                        sq[out + cx] = 0
                                        mx[out + cx] = 0
                                        n[out + cx] = Float(rr.count * colRanges[cx].count)
                                    }
                                    if tiled, width > 0 {
                                        // Cells side by side: each column's sums over the pixel's rows (a
                                        // contiguous scan per row that vectorises), then each cell's from
                                        // its columns.
                                        let c0 = colRanges[0].lowerBound
                                        let span = colRanges[width - 1].upperBound - c0
                                        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * span) { t in
                                            let cs = t.baseAddress!
                                            let cq = cs + span
                                            let cm = cq + span
                                            cs.initialize(repeating: 0, count: 3 * span)
                                            for r in rr {
                                                let base = r * cols + c0
                                                if let floats = pa.baseAddress.map({ UnsafeRawPointer($0) })?
                                                    .assumingMemoryBound(to: Float.self), T.self == Float.self
                                                {
                                                    // Float maps (all but the outlier mask): a plain
                                                    // vectorised scan, no per-weight call.
                                                    Self.scan(
                                                        floats + base, hasB ? pb.baseAddress! + base : nil,
                                                        abs: useAbs, span, cs, cq, cm)
                                                } else if let bytes = pa.baseAddress.map({ UnsafeRawPointer($0) })?
                                                    .assumingMemoryBound(to: UInt8.self), T.self == UInt8.self, !hasB
                                                {
                                                    // The outlier mask: 0/1 bytes, eight at a time.
                                                    Self.scan(bytes + base, span, cs, cq, cm)
                                                } else {
                                                    // Any other element type: through f, one at a time.
                                                    for j in 0..<span {
                                                        var v = f(pa[base + j])
                                                        if hasB {
                                                            v -= pb[base + j]
                                                        } else if useAbs {
                                                            v = Swift.abs(v)
                                                        }
                                                        cs[j] += v
                                                        cq[j] += v * v
                                                        cm[j] = Swift.max(cm[j], Swift.abs(v))
                                                    }
                                                }
                                            }
                                            for (cx, cr) in colRanges.enumerated() {
                                                var s: Float = 0
                                                var s2: Float = 0
                                                var m: Float = 0
                                                for j in (cr.lowerBound - c0)..<(cr.upperBound - c0) {
                                                    s += cs[j]
                                                    s2 += cq[j]
                                                    m = Swift.max(m, cm[j])
                                                }
                                                sum[out + cx] = s
                                                sq[out + cx] = s2
                                                mx[out + cx] = m
                                            }
                                        }
                                        return
                                    }
                                    for r in rr {
                                        let base = r * cols
                                        for (cx, cr) in colRanges.enumerated() {
                                            var s = sum[out + cx]
                                            var s2 = sq[out + cx]
                                            var m = mx[out + cx]
                                            for k in (base + cr.lowerBound)..<(base + cr.upperBound) {
                                                var v = f(pa[k])
                                                if hasB { v -= pb[k] } else if useAbs { v = Swift.abs(v) }
                                                s += v
                                                s2 += v * v
                                                m = Swift.max(m, Swift.abs(v))
                                            }
                                            sum[out + cx] = s
                                            sq[out + cx] = s2
                                            mx[out + cx] = m
                                        }
                                    }
                                }
                                if parallel {
                                    // Each pixel row writes only its own sums, so the rows can run at once.
                                    withoutActuallyEscaping(pixelRow) { rowWork in
                                        let work = UncheckedSendable(value: rowWork)
                                        DispatchQueue.concurrentPerform(iterations: rowRanges.count) { work.value($0) }
                                    }
                                } else {
                                    for py in rowRanges.indices { pixelRow(py) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Adds eight columns' x to their sums and x² to their sums of squares, and keeps their largest |x|.
    @inline(__always)
    private static func add8(
        _ v: SIMD8<Float>, magnitude m: SIMD8<Float>, _ cs: UnsafeMutablePointer<Float>,
        _ cq: UnsafeMutablePointer<Float>, _ cm: UnsafeMutablePointer<Float>
    ) {
        UnsafeMutableRawPointer(cs).storeBytes(of: load8(cs) + v, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(cq).storeBytes(of: load8(cq) + v * v, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(cm).storeBytes(of: pointwiseMax(load8(cm), m), as: SIMD8<Float>.self)
    }

    /// Adds one row of `span` values x = a (|a| when `abs`), or a − b when `b` is given, to the per-column
    /// sums, sums of squares and largest |x|, eight columns at a time.
    @inline(__always)
    private static func scan(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, abs useAbs: Bool, _ span: Int,
        _ cs: UnsafeMutablePointer<Float>, _ cq: UnsafeMutablePointer<Float>, _ cm: UnsafeMutablePointer<Float>
    ) {
        var j = 0
        while j + 8 <= span {
            var v = load8(a + j)
            if let b { v -= load8(b + j) }
            let m = v.replacing(with: -v, where: v .< 0)
            if useAbs { v = m }
            add8(v, magnitude: m, cs + j, cq + j, cm + j)
            j += 8
        }
        while j < span {
            var v = a[j]
            if let b { v -= b[j] }
            if useAbs { v = Swift.abs(v) }
            cs[j] += v
            cq[j] += v * v
            cm[j] = Swift.max(cm[j], Swift.abs(v))
            j += 1
        }
    }

    /// Adds one row of `span` bytes (x = the byte's value, ≥ 0) to the per-column sums, sums of squares and
    /// largest x, eight columns at a time.
    @inline(__always)
    private static func scan(
        _ a: UnsafePointer<UInt8>, _ span: Int, _ cs: UnsafeMutablePointer<Float>, _ cq: UnsafeMutablePointer<Float>,
        _ cm: UnsafeMutablePointer<Float>
    ) {
        var j = 0
        while j + 8 <= span {
            let bytes = UnsafeRawPointer(a + j).loadUnaligned(as: SIMD8<UInt8>.self)
            let v = SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes))
            add8(v, magnitude: v, cs + j, cq + j, cm + j)
            j += 8
        }
        while j < span {
            let v = Float(a[j])
            cs[j] += v
            cq[j] += v * v
            cm[j] = Swift.max(cm[j], v)
            j += 1
        }
    }

    /// The pooled value of every pixel.
    func values(_ p: Pooling) -> [Float] {
        switch p {
        case .mean, .density: return zip(sum, count).map { $1 > 0 ? $0 / $1 : 0 }
        case .rms: return zip(sumSquares, count).map { $1 > 0 ? ($0 / $1).squareRoot() : 0 }
        case .max: return maxAbs
        }
    }
}

/// A value handed to concurrent work that touches disjoint parts of shared buffers.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
}

/// The pooled values of one viewport in one pooling, and the colour scale they fit.
struct PooledView: Sendable {
    let width: Int
    let height: Int
    let values: [Float]
    let scale: HeatmapScale

    /// The value of pixel row `py`, cell column `cx`.
    func value(_ cx: Int, _ py: Int) -> Float { values[py * width + cx] }
}

/// The pooled views computed so far for one set of maps, by viewport (a few are kept).
final class PooledViewCache: @unchecked Sendable {
    struct Key: Hashable {
        var mode: HeatmapMode
        var zoom: Int, row0: Int, col0: Int, width: Int, height: Int
    }

    /// Whether `ready` pools a missing view in the background (the explorer) rather than at once (tests,
    /// headless renderings).
    let background: Bool
    private let lock = NSLock()
    private var grids: [Key: PooledGrid] = [:]
    private var views: [String: PooledView] = [:]
    private var requested: Set<String> = []
    static let capacity = 12
    /// Background pooling runs here, one view at a time.
    private static let queue = DispatchQueue(label: "spqr.pooling", qos: .userInitiated)
    private static let finished = Atomic<Int>(0)
    /// How many background poolings have finished so far (the loop redraws when it moves).
    static var completed: Int { finished.load(ordering: .acquiring) }
    private static let asked = Atomic<Int>(0)
    /// Whether a background pooling is asked for or under way (the key-latency bench waits for it).
    static var pooling: Bool { asked.load(ordering: .acquiring) != finished.load(ordering: .acquiring) }

    init(background: Bool = false) { self.background = background }

    static func key(_ mode: HeatmapMode, _ g: HeatmapGeometry) -> Key {
        Key(
            mode: mode, zoom: g.viewport.zoom, row0: g.viewport.row0, col0: g.viewport.col0, width: g.area.width,
            height: g.area.height)
    }

    /// The view when it is pooled; otherwise nil, after asking for it in the background (or, when not
    /// `background`, the view pooled at once).
    func ready(_ maps: HeatmapMaps, _ mode: HeatmapMode, _ pooling: Pooling, _ g: HeatmapGeometry) -> PooledView? {
        guard background else { return view(maps, mode, pooling, g) }
        let viewKey = "\(Self.key(mode, g)) \(pooling)"
        lock.lock()
        defer { lock.unlock() }
        if let v = views[viewKey] { return v }
        if requested.insert(viewKey).inserted {
            Self.asked.add(1, ordering: .releasing)
            Self.queue.async { [self] in
                _ = view(maps, mode, pooling, g)
                lock.withLock { _ = requested.remove(viewKey) }
                Self.finished.add(1, ordering: .releasing)
            }
        }
        return nil
    }

    /// The view, pooled now when it is not kept yet.
    func view(_ maps: HeatmapMaps, _ mode: HeatmapMode, _ pooling: Pooling, _ g: HeatmapGeometry) -> PooledView {
        let key = Self.key(mode, g)
        let viewKey = "\(key) \(pooling)"
        lock.lock()
        if let v = views[viewKey] {
            lock.unlock()
            return v
        }
        let cached = grids[key]
        lock.unlock()
        let grid = cached ?? PooledGrid(maps, mode, g)
        let values = grid.values(pooling)
        let view = PooledView(
            width: grid.width, height: grid.height, values: values,
            scale: HeatmapScale.fit(
                values, signed: Pooling.signed(mode, pooling), binary: Pooling.binary(mode, pooling)))
        lock.lock()
        // The whole matrix (zoom 1) stays: zooming back out, and the whole-layer range, read it again.
        if grids.count >= Self.capacity { grids = grids.filter { $0.key.zoom == 1 } }
        if views.count >= 4 * Self.capacity { views.removeAll() }
        grids[key] = grid
        views[viewKey] = view
        lock.unlock()
        return view
    }
}
