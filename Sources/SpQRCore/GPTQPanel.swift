// The pending columns of one GPTQ block for one chunk of rows, kept contiguous while the columns are swept
// (GPTQ.swift): Wp[rows, b : b+B] and what the sweep writes for it (e² before and after the outlier
// decision, outlier flags), each row-major [R][B]. A chunk's block is then R·B·4 bytes at consecutive
// addresses, which the caches hold whole; in Wp its rows are in·4 bytes apart, a power of two for LLaMA
// shapes, which maps every row of the block onto the same few cache sets, so they evict each other.
// `load` copies the block in, `store` copies it and the maps out to the run's [rows, in] arrays. Values
// are moved, never computed, and the products see the same operands in the same roles (only the leading
// dimensions change), so the results are the same bits as a sweep over Wp in place.

/// Column-major buffers for one chunk of rows over one block; one per worker thread.
struct GPTQPanel {
    /// Rows and columns the buffers hold at most.
    let capacityRows: Int, columns: Int
    /// Weights, e² before and after the outlier decision, [rows][columns].
    let weights: UnsafeMutablePointer<Float>
    let sensitivity: UnsafeMutablePointer<Float>
    let contribution: UnsafeMutablePointer<Float>
    let outliers: UnsafeMutablePointer<UInt8>
    init(rows: Int, columns: Int) {
        capacityRows = rows
        self.columns = columns
        let count = rows * columns
        weights = .allocate(capacity: 3 * count)
        sensitivity = weights + count
        contribution = sensitivity + count
        outliers = .allocate(capacity: count)
    }

    func deallocate() {
        weights.deallocate()
        outliers.deallocate()
    }

    /// Copies Wp[rows, block] (row-major, `n` columns) into the panel.
    func load(from w: UnsafePointer<Float>, n: Int, rows: Range<Int>, block: Range<Int>) {
        for i in 0..<rows.count {
            (weights + i * columns).update(from: w + (rows.lowerBound + i) * n + block.lowerBound, count: block.count)
        }
    }

    /// Copies the panel's columns `from ..< block.count` of the weights back into Wp (before a group fit
    /// that reads past the block).
    func storeWeights(
        to w: UnsafeMutablePointer<Float>, n: Int, rows: Range<Int>, block: Range<Int>, from: Int = 0
    ) {
        for i in 0..<rows.count {
            (w + (rows.lowerBound + i) * n + block.lowerBound + from).update(
                from: weights + i * columns + from, count: block.count - from)
        }
    }

    /// Copies the swept block out: weights, e² maps and flags into the run's [rows, n] arrays.
    func store(to b: GPTQBuffers, n: Int, rows: Range<Int>, block: Range<Int>) {
        storeWeights(to: b.weights, n: n, rows: rows, block: block)
        for i in 0..<rows.count {
            let at = (rows.lowerBound + i) * n + block.lowerBound
            (b.sensitivity + at).update(from: sensitivity + i * columns, count: block.count)
            (b.errorContribution + at).update(from: contribution + i * columns, count: block.count)
            (b.outliers + at).update(from: outliers + i * columns, count: block.count)
        }
    }
}
