import Foundation
import Testing

/// The README's Swift code cannot drift from code that compiles: every block outside "Getting started" stands, line
/// for line, in `Examples/ReadmeSnippets/Snippets.swift` (a target the build compiles), and the getting-started
/// blocks are the files `scripts/check-getting-started.sh` builds into a new package and runs.
@Suite struct ReadmeTests {
    private static func read(_ path: String) throws -> String { try DocumentedCode.read(path) }

    /// The README's fenced blocks of one language, each with the section (`## …`) it stands in.
    private static func blocks(language: String) throws -> [(section: String, text: String)] {
        DocumentedCode.blocks(in: try read("README.md")).filter { $0.language == language }.map {
            ($0.section, $0.text)
        }
    }

    @Test func everySwiftBlockOutsideGettingStartedIsCompiledVerbatim() throws {
        let snippets = DocumentedCode.trimmedLines(try Self.read("Examples/ReadmeSnippets/Snippets.swift"))
        let blocks = try Self.blocks(language: "swift").filter { $0.section != "## Getting started" }
        #expect(blocks.count >= 6)
        for block in blocks {
            let (missingImports, found) = DocumentedCode.compiled(block.text, in: snippets)
            for line in missingImports { Issue.record("\(line) is not imported by Snippets.swift") }
            #expect(found, "README block in \(block.section) is not in Snippets.swift:\n\(block.text)")
        }
    }

    @Test func gettingStartedHasTheFilesTheCheckBuilds() throws {
        let readme = try Self.read("README.md")
        for file in ["Package.swift", "Sources/my-jobs/main.swift", "Sources/my-app/main.swift"] {
            #expect(readme.contains("**`\(file)`**"), "Getting started does not give \(file)")
        }
        let script = try Self.read("scripts/test.sh")
        #expect(script.contains("scripts/check-getting-started.sh"))
    }
}
