// The text graph beside `cairn log --graph`: a port of the layout of git's graph.c (columns, the
// mapping of the rows between commits, merge rows `|\`, collapsing rows `|/` and `_`, octopus
// merges), and the `--topo-order` that `git log --graph` implies. Generic over the commit
// identifier, so neither needs the rest of Cairn.

/// Draws the graph one commit at a time, the way git's graph.c does.
///
/// For each commit, in the order shown (see ``graphTopoOrder(_:id:parents:)``):
/// 1. ``begin(_:parents:)``;
/// 2. optionally ``padding()``, the prefix of a blank line separating this entry from the last;
/// 3. ``commitLine()``: the edge rows to print before the commit's row, and its row's prefix;
/// 4. ``nextLine()`` for each further line of the commit's text (`Author:` ...);
/// 5. ``remainder()``: the edge rows still owed once the text has run out (a `|\` after a merge
///    shown on one line, say).
///
/// ``lines(_:parents:text:separated:)`` does 1 to 5 for a commit whose text is known up front.
/// Lines carry git's padding: every row of a commit is as wide as its widest one, so a blank text
/// line gets a prefix such as `| ` with its trailing space, as in git.
///
/// Every parent counts as shown, also one that never comes: its line stays open below the last
/// commit, as `git log --graph -n` draws it. A commit given twice is drawn twice.
struct LogGraph<ID: Hashable> {
    private enum State { case padding, skip, preCommit, commit, postMerge, collapsing }

    /// The commit being drawn, and its parents (first parent first).
    private var commit: ID?
    private var parents: [ID] = []
    private var numParents: Int { parents.count }
    /// The width of every row of this commit, in characters.
    private var width = 0
    /// The next expansion row to print in state `.preCommit`.
    private var expansionRow = 0
    private var state = State.padding
    private var prevState = State.padding
    /// The column of `commit` among `columns` (`columns.count` if none holds it).
    private var commitIndex = 0
    private var prevCommitIndex = 0
    /// 0 when the merge's first parent is in a column left of the merge, else 1.
    private var mergeLayout = 0
    /// The columns the current commit adds to the graph (-1 when the last one joins its neighbour).
    private var edgesAdded = 0
    private var prevEdgesAdded = 0
    /// The commit each line of descent leads to, before and after the current commit.
    private var columns: [ID] = []
    private var newColumns: [ID] = []
    /// For each character of a row, -1 if blank, else the column (of `newColumns`) the line there
    /// is heading for. `oldMapping` holds the last row's, as git keeps it, stale entries included.
    private var mapping: [Int] = []
    private var oldMapping: [Int] = []
    private var mappingSize = 0

    init() {}

    // MARK: Updating

    /// Moves on to the next commit shown (git's graph_update).
    mutating func begin(_ id: ID, parents: [ID]) {
        commit = id
        self.parents = parents
        prevCommitIndex = commitIndex
        updateColumns(id)
        expansionRow = 0
        // Not through setState: no row of the new state was printed.
        if state != .padding { state = .skip }
        else if needsPreCommitLine { state = .preCommit }
        else { state = .commit }
    }

    private mutating func setState(_ s: State) {
        prevState = state
        state = s
    }

    /// The mapping entry at `i`, -1 outside the array.
    private func map(_ i: Int) -> Int { i >= 0 && i < mapping.count ? mapping[i] : -1 }
    private func oldMap(_ i: Int) -> Int { i >= 0 && i < oldMapping.count ? oldMapping[i] : -1 }
    private mutating func setMap(_ i: Int, _ v: Int) {
        guard i >= 0 else { return }
        if i >= mapping.count { mapping += Array(repeating: -1, count: i + 1 - mapping.count) }
        mapping[i] = v
    }

    private mutating func updateColumns(_ id: ID) {
        columns = newColumns
        newColumns = []
        let maxNewColumns = columns.count + numParents
        mappingSize = 2 * maxNewColumns
        if mapping.count < mappingSize + 2 { mapping += Array(repeating: -1, count: mappingSize + 2 - mapping.count) }
        for i in 0..<mappingSize { mapping[i] = -1 }
        width = 0
        prevEdgesAdded = edgesAdded
        edgesAdded = 0

        // Each existing column goes on to the commit it led to, but the current commit's goes on
        // to its parents; a column already leading to the same commit is shared, not repeated.
        var seenThis = false
        for i in 0...columns.count {
            let colCommit: ID
            if i == columns.count {
                if seenThis { break }
                colCommit = id
            } else {
                colCommit = columns[i]
            }
            if colCommit == id && !seenThis {
                seenThis = true
                commitIndex = i
                mergeLayout = -1
                for p in parents { insertIntoNewColumns(p, index: i) }
                // The commit takes up a column of its own even without parents.
                if numParents == 0 { width += 2 }
            } else {
                insertIntoNewColumns(colCommit, index: -1)
            }
        }
        while mappingSize > 1 && map(mappingSize - 1) < 0 { mappingSize -= 1 }
    }

    /// Adds `c` to `newColumns` unless it is there already, and maps the next character of the
    /// row to its column. `index` is the merge's column when `c` is one of its parents, else -1.
    private mutating func insertIntoNewColumns(_ c: ID, index: Int) {
        let i: Int
        if let existing = newColumns.firstIndex(of: c) { i = existing } else {
            i = newColumns.count
            newColumns.append(c)
        }
        let mappingIndex: Int
        if numParents > 1 && index > -1 && mergeLayout == -1 {
            // The first parent of a merge: the merge row's layout depends on whether that parent
            // sits in a column left of the merge.
            let dist = index - i
            let shift = dist > 1 ? 2 * dist - 3 : 1
            mergeLayout = dist > 0 ? 0 : 1
            edgesAdded = numParents + mergeLayout - 2
            mappingIndex = width + (mergeLayout - 1) * shift
            width += 2 * mergeLayout
        } else if edgesAdded > 0 && width >= 2 && i == map(width - 2) {
            // A merge added columns, but this one was found in the last existing column: the
            // two edges join at once (`|\|` rather than `|\ \`).
            mappingIndex = width - 2
            edgesAdded = -1
        } else {
            mappingIndex = width
            width += 2
        }
        setMap(mappingIndex, i)
    }

    private var numDashedParents: Int { numParents + mergeLayout - 3 }
    private var numExpansionRows: Int { numDashedParents * 2 }

    private var needsPreCommitLine: Bool {
        numParents >= 3 && commitIndex < columns.count - 1 && expansionRow < numExpansionRows
    }

    /// Whether each line is where it is heading for.
    private var isMappingCorrect: Bool {
        for i in 0..<max(mappingSize, 0) {
            let target = map(i)
            if target >= 0 && target != i / 2 { return false }
        }
        return true
    }

    // MARK: Rows

    private func padded(_ row: String) -> String {
        row.count < width ? row + String(repeating: " ", count: width - row.count) : row
    }

    /// The next row of the graph for the current commit (git's graph_next_line). Empty before the
    /// first ``begin(_:parents:)``.
    mutating func nextLine() -> String { nextLineMarkingCommit().row }

    private mutating func nextLineMarkingCommit() -> (row: String, isCommit: Bool) {
        guard commit != nil else { return ("", false) }
        var row = ""
        var isCommit = false
        switch state {
        case .padding: row = paddingRow()
        case .skip: row = skipRow()
        case .preCommit: row = preCommitRow()
        case .commit: row = commitRow(); isCommit = true
        case .postMerge: row = postMergeRow()
        case .collapsing: row = collapsingRow()
        }
        return (padded(row), isCommit)
    }

    /// A row leaving every line as it is.
    private func paddingRow() -> String { String(repeating: "| ", count: newColumns.count) }

    /// The previous commit's rows never ended: mark the gap.
    private mutating func skipRow() -> String {
        setState(needsPreCommitLine ? .preCommit : .commit)
        return "..."
    }

    /// A row widening the space right of an octopus merge to make room for its edges.
    private mutating func preCommitRow() -> String {
        var row = ""
        var seenThis = false
        for (i, col) in columns.enumerated() {
            if col == commit && !seenThis {
                seenThis = true
                row += "|" + String(repeating: " ", count: max(expansionRow, 0))
            } else if seenThis && expansionRow == 0 {
                // Lines the previous merge printed as `\` stay `\`.
                row += prevState == .postMerge && prevCommitIndex < i ? "\\" : "|"
            } else if seenThis && expansionRow > 0 {
                row += "\\"
            } else {
                row += "|"
            }
            row += " "
        }
        expansionRow += 1
        if !needsPreCommitLine { setState(.commit) }
        return row
    }

    /// The commit a column of the row stands for; one past the last column is this commit
    /// (as git's graph.c, when the commit has no column yet).
    private func columnCommit(_ i: Int) -> ID? { i == columns.count ? commit : columns[i] }

    private mutating func commitRow() -> String {
        var row = ""
        var seenThis = false
        for i in 0...columns.count {
            if i == columns.count && seenThis { break }
            let colCommit = columnCommit(i)
            if colCommit == commit && !seenThis {
                seenThis = true
                row += "*"
                if numParents > 2 {
                    let dashed = max(numDashedParents, 0)
                    for d in 0..<dashed { row += d == dashed - 1 ? "-." : "--" }
                }
            } else if seenThis && edgesAdded > 1 {
                row += "\\"
            } else if seenThis && edgesAdded == 1 {
                // A line that came in as `\` from the merge above stays `\`.
                row += prevState == .postMerge && prevEdgesAdded > 0 && prevCommitIndex < i ? "\\" : "|"
            } else if prevState == .collapsing && oldMap(2 * i + 1) == i && map(2 * i) < i {
                row += "/"
            } else {
                row += "|"
            }
            row += " "
        }
        if numParents > 1 { setState(.postMerge) }
        else if isMappingCorrect { setState(.padding) }
        else { setState(.collapsing) }
        return row
    }

    /// The row under a merge, its edges fanning out to its parents: `|\`, `|/|`, `| |\`.
    private mutating func postMergeRow() -> String {
        let mergeChars: [Character] = ["/", "|", "\\"]
        var row = ""
        var seenThis = false
        var seenParent = false
        let firstParent = parents.first
        for i in 0...columns.count {
            if i == columns.count && seenThis { break }
            let colCommit = columnCommit(i)
            if colCommit == commit && !seenThis {
                seenThis = true
                var idx = min(max(mergeLayout, 0), 2)
                for j in 0..<numParents {
                    row.append(mergeChars[idx])
                    if idx == 2 {
                        if edgesAdded > 0 || j < numParents - 1 { row += " " }
                    } else {
                        idx += 1
                    }
                }
                if edgesAdded == 0 { row += " " }
            } else if seenThis {
                row += edgesAdded > 0 ? "\\ " : "| "
            } else {
                row += "|"
                if mergeLayout != 0 || i != commitIndex - 1 { row += seenParent ? "_" : " " }
            }
            if colCommit == firstParent { seenParent = true }
        }
        setState(isMappingCorrect ? .padding : .collapsing)
        return row
    }

    /// A row moving lines left toward their columns: `/`, crossing others with `_`.
    private mutating func collapsingRow() -> String {
        var usedHorizontal = false
        var horizontalEdge = -1
        var horizontalEdgeTarget = -1

        swap(&mapping, &oldMapping)
        if mapping.count < oldMapping.count { mapping += Array(repeating: -1, count: oldMapping.count - mapping.count) }
        for i in 0..<mappingSize { mapping[i] = -1 }

        for i in 0..<mappingSize {
            let target = oldMap(i)
            if target < 0 { continue }
            // Lines only ever move left: the leftmost parent was put in first.
            guard target * 2 <= i else { setMap(i, target); continue }
            if target * 2 == i {
                // Already in place.
                setMap(i, target)
            } else if map(i - 1) < 0 {
                // Nothing to the left: move left by one, and if no line runs horizontally yet,
                // this one does.
                setMap(i - 1, target)
                if horizontalEdge == -1 {
                    horizontalEdge = i
                    horizontalEdgeTarget = target
                    var j = target * 2 + 3
                    while j < i - 2 { setMap(j, target); j += 2 }
                }
            } else if map(i - 1) == target {
                // The line to the left leads to the same commit: join it.
            } else {
                // Cross over the line to the left, into the space beyond it.
                setMap(i - 2, target)
                if horizontalEdge == -1 {
                    horizontalEdgeTarget = target
                    horizontalEdge = i - 1
                    var j = target * 2 + 3
                    while j < i - 2 { setMap(j, target); j += 2 }
                }
            }
        }

        // Keep this row's mapping for the commit row after it.
        if oldMapping.count < mapping.count { oldMapping += Array(repeating: -1, count: mapping.count - oldMapping.count) }
        for i in 0..<mappingSize { oldMapping[i] = mapping[i] }
        // The new mapping may be one smaller.
        if mappingSize > 0 && map(mappingSize - 1) < 0 { mappingSize -= 1 }

        var row = ""
        for i in 0..<mappingSize {
            let target = map(i)
            if target < 0 {
                row += " "
            } else if target * 2 == i {
                row += "|"
            } else if target == horizontalEdgeTarget && i != horizontalEdge - 1 {
                // All but the first segment of a horizontal line stop here.
                if i != target * 2 + 3 { setMap(i, -1) }
                usedHorizontal = true
                row += "_"
            } else {
                if usedHorizontal && i < horizontalEdge { setMap(i, -1) }
                row += "/"
            }
        }
        if isMappingCorrect { setState(.padding) }
        return row
    }

    // MARK: Showing a commit

    /// Whether the current commit's rows are all out: the next row would only extend its lines.
    var isCommitFinished: Bool { state == .padding }

    /// A row of vertical padding that never shows the commit (git's graph_padding_line): before
    /// the commit's row, its lines extended down unchanged; once it is out, the next row.
    mutating func padding() -> String {
        guard state == .commit else { return nextLine() }
        var row = ""
        for col in columns {
            row += "|"
            row += col == commit && numParents > 2 ? String(repeating: " ", count: (numParents - 2) * 2) : " "
        }
        prevState = .padding
        return padded(row)
    }

    /// The rows up to the commit's: the edge rows before it, and its own row's prefix, as in
    /// `*   ` (git's graph_show_commit).
    mutating func commitLine() -> (before: [String], prefix: String) {
        guard commit != nil else { return ([], "") }
        if isCommitFinished { return ([], padding()) }
        var before: [String] = []
        while true {
            let (row, isCommit) = nextLineMarkingCommit()
            if isCommit { return (before, row) }
            before.append(row)
            // A state machine that never reaches the commit's row would be a bug; don't hang on it.
            if before.count > 4 * (columns.count + numParents) + 8 { return (before, row) }
        }
    }

    /// The rows the current commit still owes once its text has run out (git's
    /// graph_show_remainder).
    mutating func remainder() -> [String] {
        var rows: [String] = []
        while !isCommitFinished && commit != nil {
            rows.append(nextLine())
            if rows.count > 4 * (columns.count + numParents) + 8 { break }
        }
        return rows
    }

    /// One commit's lines with the graph: `text[0]` on the commit's row (an empty `text` counts as
    /// one empty line), each later line on the next row, then the rows still owed. With
    /// `separated`, first a padding row: git's blank line between two entries of the full format.
    mutating func lines(_ id: ID, parents: [ID], text: [String], separated: Bool = false) -> [String] {
        begin(id, parents: parents)
        var out: [String] = []
        if separated { out.append(padding()) }
        let (before, prefix) = commitLine()
        out += before
        out.append(prefix + (text.first ?? ""))
        for t in text.dropFirst() { out.append(nextLine() + t) }
        out += remainder()
        return out
    }
}

/// `items`, newest first (as the log walk gives them), in git's `--topo-order`: no commit before
/// all of its children, and each line of descent shown as one run. Like git's
/// sort_in_topological_order in graph order: the tips (items no other item names as parent)
/// start off in the given order; a commit whose last child has been shown goes next, and of a
/// merge's parents the last one freed comes first, so a merged branch follows its merge.
/// Parents not among `items` are ignored; an item given again is dropped; items on a cycle
/// (which content addressing cannot make) come last, in the given order.
func graphTopoOrder<T, ID: Hashable>(_ items: [T], id: (T) -> ID, parents: (T) -> [ID]) -> [T] {
    var index: [ID: Int] = [:]
    var unique: [Int] = []
    for (i, item) in items.enumerated() where index[id(item)] == nil {
        index[id(item)] = i
        unique.append(i)
    }
    // git's indegree: 1 + the number of children still to be shown; 0 once shown.
    var indegree: [Int: Int] = [:]
    for i in unique { indegree[i] = 1 }
    for i in unique {
        for p in parents(items[i]) { if let pi = index[p] { indegree[pi, default: 0] += 1 } }
    }
    // A stack, as git's priority queue is without a comparison; the first tip on top.
    var stack: [Int] = unique.filter { indegree[$0] == 1 }.reversed()
    var out: [T] = []
    out.reserveCapacity(unique.count)
    while let i = stack.popLast() {
        guard indegree[i] != 0 else { continue }
        for p in parents(items[i]) {
            guard let pi = index[p], let d = indegree[pi], d != 0 else { continue }
            indegree[pi] = d - 1
            if d - 1 == 1 { stack.append(pi) }
        }
        indegree[i] = 0
        out.append(items[i])
    }
    if out.count < unique.count {
        for i in unique where indegree[i] != 0 { out.append(items[i]) }
    }
    return out
}
