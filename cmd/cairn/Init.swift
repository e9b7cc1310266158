import ArgumentParser
import CairnStore
import CairnValues
import CairnTables
import CairnVersioning

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an empty store.",
        discussion: "Makes DIR/.cairn/ (DIR is created if missing). The branch main is unborn until the first commit.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Where to create the store.", valueName: "DIR"))
    var directory: String = "."

    func run() throws {
        try global.apply()
        let store = try StoreDirectory.create(in: directory)
        store.close()
        let folder = StoreDirectory.absolute(directory)
        print("Initialized empty cairn store in \(folder)/\(StoreDirectory.folderName)/")
    }
}
