import CairnStore
import CairnValues
import CairnVersioning
import Testing

/// docs/merging.md's worked example, as written there: one document on two devices, edited
/// offline on both, merged with no edit lost.
@Suite struct MergeExampleTests {
    @Test func oneDocumentOnTwoDevices() throws {
        let rules = ["/list/title": "lww", "/list/items": "union", "/list/notes": "text", "/list/opened": "counter"]
        let doc = #"{"title": "Groceries", "items": ["eggs", "milk"], "notes": "buy early\ncheck fridge\n", "opened": 0}"#

        func device(_ id: String) throws -> Repository {
            let repo = Repository(chunks: MemoryChunkStore())
            try repo.chunks.setSetting("core.replica", id)
            for (pattern, rule) in rules { try repo.setRule(pattern, to: MergeRule(rawValue: rule)!) }
            try repo.edit(at: ValuePath(parsing: "/list"), value: try JSON.parse(doc, store: repo.store))
            return repo
        }
        let phone = try device("phone"), laptop = try device("laptop")
        let base = try laptop.workingRoot()

        // Offline edits on both.
        try phone.edit(at: ValuePath(parsing: "/list/items"), value: try JSON.parse(#"["apples", "milk"]"#, store: phone.store))
        try phone.edit(at: ValuePath(parsing: "/list/notes"), value: .string("buy early\ncheck fridge\nuse coupons\n"))
        try phone.edit(at: ValuePath(parsing: "/list/opened"), value: .int(2))
        try laptop.edit(at: ValuePath(parsing: "/list/items"), value: try JSON.parse(#"["bread", "eggs", "milk"]"#, store: laptop.store))
        try laptop.edit(at: ValuePath(parsing: "/list/notes"), value: .string("buy before 9\ncheck fridge\n"))
        try laptop.edit(at: ValuePath(parsing: "/list/opened"), value: .int(1))
        try laptop.edit(at: ValuePath(parsing: "/list/title"), value: .string("Weekend groceries"))
        try phone.edit(at: ValuePath(parsing: "/list/title"), value: .string("Groceries!"))  // later: wins

        // The phone's root reaches the laptop, stamps and all; the laptop merges.
        let sent = try JSON.string(.map(try phone.workingRoot()), tagged: true)
        guard case .map(let theirs) = try JSON.parse(sent, store: laptop.store, tagged: true) else {
            Issue.record("not a map")
            return
        }
        let merged = try ThreeWayMerge.merge(base: base, ours: try laptop.workingRoot(), theirs: theirs)
        #expect(merged.conflicts.isEmpty)
        #expect(try JSON.string(try merged.root.get(.string("list"))!) ==
            #"{"items":["apples","bread","milk"],"notes":"buy before 9\ncheck fridge\nuse coupons\n","opened":3,"title":"Groceries!"}"#)

        // The phone merging the laptop's root gets the same document.
        let back = try JSON.string(.map(try laptop.workingRoot()), tagged: true)
        guard case .map(let laptopRoot) = try JSON.parse(back, store: phone.store, tagged: true),
              case .map(let phoneBase) = try JSON.parse(try JSON.string(.map(base), tagged: true), store: phone.store, tagged: true) else {
            Issue.record("not a map")
            return
        }
        let other = try ThreeWayMerge.merge(base: phoneBase, ours: try phone.workingRoot(), theirs: laptopRoot)
        #expect(other.conflicts.isEmpty)
        #expect(try JSON.string(try other.root.get(.string("list"))!) == JSON.string(try merged.root.get(.string("list"))!))
    }
}
