// The pending columns of one GPTQ block for one chunk of rows, kept contiguous while the columns are swept
// (GPTQ.swift): Wp[rows, b : b+B] and what the sweep writes for it (e² before and after the outlier
// decision, outlier flags), each column-major: element (i, c) at c · ld + i, ld = the rows it holds at
// most. A chunk's block is then ld·B·4 bytes at consecutive addresses, which the caches hold whole (in Wp
// its rows are in·4 bytes apart, a power of two for LLaMA shapes, which maps every row of the block onto
// the same few cache sets, so they evict each other), and eight consecutive rows of one column are one
// vector, the unit of the per-weight steps.
// `load` copies the block in, `store` copies it and the maps out to the run's [rows, in] arrays. Values
// are moved, never computed; the in-block products are made row-major in `product`, with their operands in
// the roles they have over Wp, and subtracted with one rounding per weight (`subtractTransposed`), so the
// results are the same bits as a sweep over Wp in place.

/// Column-major buffers for one chunk of rows over one block; one per worker thread.
struct GPTQPanel {
    /// Rows (the leading dimension `ld`) and columns the buffers hold at most.
    let ld: Int, columns: Int
    /// Weights, e² before and after the outlier decision, element (i, c) at c · ld + i.
    let weights: UnsafeMutablePointer<Float>
    let sensitivity: UnsafeMutablePointer<Float>
    let contribution: UnsafeMutablePointer<Float>
    let outliers: UnsafeMutablePointer<UInt8>
    /// An in-block product, row-major [rows][columns after the sub-block].
    let product: UnsafeMutablePointer<Float>
    init(rows: Int, columns: Int) {
        ld = rows
        self.columns = columns
        let count = rows * columns
        weights = .allocate(capacity: 4 * count)
        sensitivity = weights + count
        contribution = sensitivity + count
        product = contribution + count
        outliers = .allocate(capacity: count)
    }

    func deallocate() {
        weights.deallocate()
        outliers.deallocate()
    }

    /// Copies Wp[rows, block] (row-major, `n` columns) into the panel.
    func load(from w: UnsafePointer<Float>, n: Int, rows: Range<Int>, block: Range<Int>) {
        Self.transpose(rows.count, block.count, from: w + rows.lowerBound * n + block.lowerBound, n, to: weights, ld)
    }

    /// Copies the panel's columns `from ..< block.count` of the weights back into Wp (before a group fit
    /// that reads past the block).
    func storeWeights(
        to w: UnsafeMutablePointer<Float>, n: Int, rows: Range<Int>, block: Range<Int>, from: Int = 0
    ) {
        Self.transpose(
            block.count - from, rows.count, from: weights + from * ld, ld,
            to: w + rows.lowerBound * n + block.lowerBound + from, n)
    }

    /// Copies the swept block out: weights, e² maps and flags into the run's [rows, n] arrays.
    func store(to b: GPTQBuffers, n: Int, rows: Range<Int>, block: Range<Int>) {
        let at = rows.lowerBound * n + block.lowerBound
        storeWeights(to: b.weights, n: n, rows: rows, block: block)
        Self.transpose(block.count, rows.count, from: sensitivity, ld, to: b.sensitivity + at, n)
        Self.transpose(block.count, rows.count, from: contribution, ld, to: b.errorContribution + at, n)
        Self.transpose(block.count, rows.count, from: outliers, ld, to: b.outliers + at, n)
    }

    /// dst[c · ldd + r] = src[r · lds + c] for r < rows, c < cols: tiles of 8 × 8 in vectors, the edges
    /// one by one.
    @inline(__always)
    static func transpose<T: SIMDScalar>(
        _ rows: Int, _ cols: Int, from src: UnsafePointer<T>, _ lds: Int, to dst: UnsafeMutablePointer<T>, _ ldd: Int
    ) {
        visitTiles(
            rows, cols,
            tile: { r0, c0 in transposeTile(from: src + r0 * lds + c0, lds, to: dst + c0 * ldd + r0, ldd) },
            element: { r, c in dst[c * ldd + r] = src[r * lds + c] })
    }

    /// w[c · ldw + r] −= p[r · ldp + c] for r < rows, c < cols (each element rounded once): tiles of 8 × 8
    /// transposed in vectors, the edges one by one.
    static func subtractTransposed(
        _ rows: Int, _ cols: Int, _ p: UnsafePointer<Float>, _ ldp: Int, from w: UnsafeMutablePointer<Float>,
        _ ldw: Int
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { tile in
            let t = tile.baseAddress!
            visitTiles(
                rows, cols,
                tile: { r0, c0 in
                    transposeTile(from: p + r0 * ldp + c0, ldp, to: t, 8)
                    for c in 0..<8 {
                        let x = UnsafeMutableRawPointer(w + (c0 + c) * ldw + r0)
                        let y = UnsafeRawPointer(t + c * 8).loadUnaligned(as: SIMD8<Float>.self)
                        x.storeBytes(of: x.loadUnaligned(as: SIMD8<Float>.self) - y, as: SIMD8<Float>.self)
                    }
                },
                element: { r, c in w[c * ldw + r] -= p[r * ldp + c] })
        }
    }

    /// Walks a rows × cols array: `tile(r0, c0)` for every whole 8 × 8 tile, `element(r, c)` for the
    /// elements of the right and bottom edges that no tile covers.
    @inline(__always)
    static func visitTiles(
        _ rows: Int, _ cols: Int, tile: (_ r0: Int, _ c0: Int) -> Void, element: (_ r: Int, _ c: Int) -> Void
    ) {
        var r0 = 0
        while r0 + 8 <= rows {
            var c0 = 0
            while c0 + 8 <= cols {
                tile(r0, c0)
                c0 += 8
            }
            for r in r0..<(r0 + 8) {
                for c in c0..<cols { element(r, c) }
            }
            r0 += 8
        }
        for r in r0..<rows {
            for c in 0..<cols { element(r, c) }
        }
    }

    /// One 8 × 8 tile. Element (r, c) sits at index 8r + c of the tile's rows laid end to end; taking the
    /// even and then the odd elements of each pair of rows rotates that index's six bits right by one
    /// (row bits r₂r₁r₀, column bits c₂c₁c₀ become c₀r₂r₁, r₀c₂c₁), so three rounds swap rows and columns.
    @inline(__always)
    static func transposeTile<T: SIMDScalar>(
        from src: UnsafePointer<T>, _ lds: Int, to dst: UnsafeMutablePointer<T>, _ ldd: Int
    ) {
        @inline(__always) func row(_ i: Int) -> SIMD8<T> {
            UnsafeRawPointer(src + i * lds).loadUnaligned(as: SIMD8<T>.self)
        }
        var v = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
        for _ in 0..<3 {
            let p = (
                SIMD16(lowHalf: v.0, highHalf: v.1), SIMD16(lowHalf: v.2, highHalf: v.3),
                SIMD16(lowHalf: v.4, highHalf: v.5), SIMD16(lowHalf: v.6, highHalf: v.7)
            )
            v = (
                p.0.evenHalf, p.1.evenHalf, p.2.evenHalf, p.3.evenHalf, p.0.oddHalf, p.1.oddHalf, p.2.oddHalf,
                p.3.oddHalf
            )
        }
        @inline(__always) func store(_ i: Int, _ x: SIMD8<T>) {
            UnsafeMutableRawPointer(dst + i * ldd).storeBytes(of: x, as: SIMD8<T>.self)
        }
        store(0, v.0)
        store(1, v.1)
        store(2, v.2)
        store(3, v.3)
        store(4, v.4)
        store(5, v.5)
        store(6, v.6)
        store(7, v.7)
    }
}
