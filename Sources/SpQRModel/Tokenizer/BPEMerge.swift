// Byte-pair merging: repeatedly join the adjacent pair with the best (lowest) priority, the leftmost
// among equals, until no adjacent pair has a merge rule. This is the order of Hugging Face tokenizers'
// BPE (a priority queue over ranks) and of llama.cpp's llm_tokenizer_bpe / llm_tokenizer_spm (ranks or
// negated scores). A binary heap of candidate pairs over a linked list of symbols makes a merge
// O(log n), so a SentencePiece text of a million characters, which is not pre-split, stays fast.

/// Merges a sequence of token ids (-1 for a symbol with no token, which never merges).
enum BPEMerge {
    private struct Candidate {
        let priority: Double
        let left: Int
        let leftID: Int32, rightID: Int32
        func before(_ o: Candidate) -> Bool { priority < o.priority || (priority == o.priority && left < o.left) }
    }

    /// The surviving symbols after merging, as (index of the symbol's first initial symbol, token id).
    static func merge(_ initial: [Int32], _ rules: [UInt64: MergeRule]) -> [(index: Int, id: Int32)] {
        let n = initial.count
        if n < 2 { return initial.enumerated().map { ($0.offset, $0.element) } }
        var id = initial
        var next = Array(1...n)  // n marks the end
        var prev = Array(-1..<(n - 1))
        var heap: [Candidate] = []
        heap.reserveCapacity(n)

        func push(_ c: Candidate) {
            heap.append(c)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                guard heap[i].before(heap[p]) else { break }
                heap.swapAt(i, p)
                i = p
            }
        }
        func pop() -> Candidate {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1
                    let r = l + 1
                    var m = i
                    if l < heap.count && heap[l].before(heap[m]) { m = l }
                    if r < heap.count && heap[r].before(heap[m]) { m = r }
                    if m == i { break }
                    heap.swapAt(i, m)
                    i = m
                }
            }
            return top
        }
        func consider(_ left: Int) {
            guard left >= 0, next[left] < n else { return }
            let l = id[left]
            let r = id[next[left]]
            guard l >= 0, r >= 0, let rule = rules[MergeTable.key(l, r)] else { return }
            push(Candidate(priority: rule.priority, left: left, leftID: l, rightID: r))
        }

        for i in 0..<(n - 1) { consider(i) }
        while !heap.isEmpty {
            let c = pop()
            // A candidate is stale once either side has merged with something else.
            let right = next[c.left]
            guard id[c.left] == c.leftID, right < n, id[right] == c.rightID,
                let rule = rules[MergeTable.key(c.leftID, c.rightID)]
            else { continue }
            id[c.left] = rule.result
            id[right] = -2  // removed
            next[c.left] = next[right]
            if next[right] < n { prev[next[right]] = c.left }
            consider(prev[c.left])
            consider(c.left)
        }
        var out: [(index: Int, id: Int32)] = []
        var i = 0
        while i < n {
            out.append((i, id[i]))
            i = next[i]
        }
        return out
    }
}
