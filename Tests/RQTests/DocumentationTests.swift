import Foundation
import Testing

/// The DocC articles' Swift code cannot drift from code that compiles: every ```swift block of an article in
/// `Sources/RQ/RQ.docc` stands, line for line, in `Examples/DocSnippets/<Article>.swift` (a target the build
/// compiles), and the getting-started article's `Package.swift` is the README's, which
/// `scripts/check-getting-started.sh` builds and runs.
@Suite struct DocumentationTests {
    private static let root = DocumentedCode.root
    private static let catalog = "Sources/RQ/RQ.docc"

    /// The articles issue 14 asks for, and the landing page.
    static let expectedArticles = [
        "RQ", "GettingStarted", "JobFunctionsAndRunners", "WorkersHorsesAndDeathPenalties", "ResultsAndWaiting",
        "SchedulingRetriesAndCron", "PythonInteroperability", "ProductionRedis", "Deploying", "Observability",
        "MigratingFromPythonRQ", "ComparedWithSwiftJobs",
    ]

    private static func read(_ path: String) throws -> String { try DocumentedCode.read(path) }

    /// The catalog's Markdown files, by name without `.md`.
    private static func articleNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(catalog).path)
            .filter { $0.hasSuffix(".md") }.map { String($0.dropLast(3)) }.sorted()
    }

    /// The fenced blocks of a Markdown text, each with its language (the word after the opening fence).
    static func blocks(in text: String) -> [(language: String, text: String)] {
        DocumentedCode.blocks(in: text).map { ($0.language, $0.text) }
    }

    @Test func theCatalogHasEveryArticleAndTheLandingPageListsThem() throws {
        let names = try Self.articleNames()
        #expect(Set(names) == Set(Self.expectedArticles), "articles: \(names)")
        let landing = try Self.read("\(Self.catalog)/RQ.md")
        #expect(landing.hasPrefix("# ``RQ``\n"))
        for name in Self.expectedArticles where name != "RQ" {
            #expect(landing.contains("- <doc:\(name)>"), "RQ.md's topics do not list \(name)")
        }
    }

    @Test func everyCodeBlockNamesItsLanguage() throws {
        for name in try Self.articleNames() {
            for block in Self.blocks(in: try Self.read("\(Self.catalog)/\(name).md")) {
                #expect(!block.language.isEmpty, "\(name).md has a code block without a language:\n\(block.text)")
            }
        }
    }

    @Test(arguments: expectedArticles)
    func everySwiftBlockIsCompiledVerbatim(article: String) throws {
        let text = try Self.read("\(Self.catalog)/\(article).md")
        let swiftBlocks = Self.blocks(in: text).filter { $0.language == "swift" }
        let snippetPath = "Examples/DocSnippets/\(article).swift"
        if swiftBlocks.isEmpty { return }
        // A block the README shows too may stand in the README's snippets instead, written once.
        let sources = [snippetPath, "Examples/ReadmeSnippets/Snippets.swift"]
        let snippets = try sources.map { DocumentedCode.trimmedLines(try Self.read($0)) }
        for block in swiftBlocks {
            if block.text.hasPrefix("// swift-tools-version:") {
                // A manifest cannot be compiled as a snippet: it is the README's, which the getting-started check builds.
                let readme = Self.blocks(in: try Self.read("README.md")).filter { $0.language == "swift" }
                #expect(readme.contains { $0.text == block.text }, "\(article).md's Package.swift is not the README's")
                continue
            }
            let checks = snippets.map { DocumentedCode.compiled(block.text, in: $0) }
            guard let index = checks.firstIndex(where: \.found) else {
                Issue.record(
                    "a Swift block of \(article).md is not in \(sources.joined(separator: " or ")):\n\(block.text)")
                continue
            }
            for line in checks[index].missingImports { Issue.record("\(line) is not imported by \(sources[index])") }
        }
    }

    @Test func theCronFileShownIsTheExampleFile() throws {
        // Examples/cron.json is what `swift-rq cron` runs in CronTests; the article shows it as it is.
        let article = try Self.read("\(Self.catalog)/SchedulingRetriesAndCron.md")
        let json = Self.blocks(in: article).filter { $0.language == "json" }
        #expect(json.count == 1)
        let file = try Self.read("Examples/cron.json").trimmingCharacters(in: .newlines)
        #expect(json.first?.text == file, "SchedulingRetriesAndCron.md's cron file is not Examples/cron.json")
    }

    @Test func blocksAreReadWithTheirLanguageAndLines() {
        // The extraction the checks above rely on: a Swift block, a shell block, and text around them.
        let text = "Intro\n\n```swift\nlet x = 1\n    print(x)\n```\n\nMore\n\n```sh\nswift build\n```\n"
        let found = Self.blocks(in: text)
        #expect(found.map(\.language) == ["swift", "sh"])
        #expect(DocumentedCode.trimmedLines(found[0].text) == ["let x = 1", "print(x)"])
    }
}
