import Foundation

/// What the README and DocC tests share: the repository's files, the fenced code blocks of a Markdown text, and the
/// check that a Swift block stands, line for line, in a snippets file the build compiles.
enum DocumentedCode {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A file of the repository, by its path from the root.
    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The fenced blocks of a Markdown text, each with its language (the word after the opening fence) and the
    /// section (`## …`) it stands in.
    static func blocks(in text: String) -> [(language: String, section: String, text: String)] {
        var result: [(String, String, String)] = []
        var section = ""
        var open: (language: String, lines: [String])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if open == nil, line.hasPrefix("## ") {
                section = line
            } else if open == nil, line.hasPrefix("```") {
                open = (String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), [])
            } else if let current = open, line == "```" {
                result.append((current.language, section, current.lines.joined(separator: "\n")))
                open = nil
            } else if open != nil {
                open!.lines.append(line)
            }
        }
        return result
    }

    /// The non-empty lines of a text, without their indentation.
    static func trimmedLines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// How a Swift block stands in a snippets file (given as its trimmed lines): the block's imports the file lacks,
    /// and whether the rest of the block is in the file as one run of lines.
    static func compiled(_ block: String, in snippets: [String]) -> (missingImports: [String], found: Bool) {
        let lines = trimmedLines(block)
        let missing = lines.filter { $0.hasPrefix("import ") && !snippets.contains($0) }
        let code = lines.filter { !$0.hasPrefix("import ") }
        let found = snippets.indices.contains { start in
            start + code.count <= snippets.count && Array(snippets[start..<start + code.count]) == code
        }
        return (missing, found)
    }
}
