import Foundation
import Testing

/// The README's Swift code cannot drift from code that compiles: every block outside "Getting started" stands, line
/// for line, in `Examples/ReadmeSnippets/Snippets.swift` (a target the build compiles), and the getting-started
/// blocks are the files `scripts/check-getting-started.sh` builds into a new package and runs.
@Suite struct ReadmeTests {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The README's fenced blocks of one language, each with the section (`## …`) it stands in.
    private static func blocks(language: String) throws -> [(section: String, text: String)] {
        var result: [(String, String)] = []
        var section = ""
        var current: [String]?
        for line in try read("README.md").split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if current == nil, line.hasPrefix("## ") { section = line }
            if current == nil, line == "```\(language)" {
                current = []
            } else if current != nil, line == "```" {
                result.append((section, current!.joined(separator: "\n")))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return result
    }

    private static func trimmedLines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Test func everySwiftBlockOutsideGettingStartedIsCompiledVerbatim() throws {
        let snippets = Self.trimmedLines(try Self.read("Examples/ReadmeSnippets/Snippets.swift"))
        let blocks = try Self.blocks(language: "swift").filter { $0.section != "## Getting started" }
        #expect(blocks.count >= 6)
        for block in blocks {
            let lines = Self.trimmedLines(block.text)
            for line in lines where line.hasPrefix("import ") {
                #expect(snippets.contains(line), "\(line) is not imported by Snippets.swift")
            }
            let code = lines.filter { !$0.hasPrefix("import ") }
            let found = snippets.indices.contains { start in
                start + code.count <= snippets.count && Array(snippets[start..<start + code.count]) == code
            }
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
