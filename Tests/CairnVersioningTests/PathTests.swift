import Testing
import CairnVersioning

@Suite struct PathTests {
    @Test func pointerSyntax() throws {
        #expect(try ValuePath(parsing: "").segments == [])
        #expect(try ValuePath(parsing: "/").segments == [""])
        #expect(try ValuePath(parsing: "/a~1b/~0/~01").segments == ["a/b", "~", "~1"])
        #expect(try ValuePath(parsing: "/a~1b/~0").description == "/a~1b/~0")
        #expect(throws: RepositoryError.self) { try ValuePath(parsing: "a") }
        #expect(throws: RepositoryError.self) { try ValuePath(parsing: "/~2") }
        #expect(throws: RepositoryError.self) { try ValuePath(parsing: "/~") }
    }

    @Test func names() {
        for good in ["main", "feature/x", "v1.0", "a-b"] { #expect((try? Repository.validateName(good, kind: "branch")) != nil) }
        for bad in ["", "-x", "HEAD", "WORKING", "a..b", "a b", "a~1", "a^", "a:b", "/a", "a/", "a//b", "a\tb"] {
            #expect(throws: RepositoryError.self) { try Repository.validateName(bad, kind: "branch") }
        }
    }
}
