public import RQ

/// The job functions of this example: their names (what a job in Redis carries) and their code.
///
/// The names are all a producer needs; the code runs wherever the worker runs it — in this process (in-process
/// mode), in a horse (this same executable started again with `--rq-horse`), or in any other runner or Python
/// worker that registers functions of the same names.
public enum ExampleJobs {
    /// `examples.add(x, y)` → `x + y`, as the core's examples and their Python twin.
    public static let add = JobFunction<Int, Int, Int>("examples.add")
    /// `reports.summarize(text)` → counts of words, lines and characters: the "report" a request asks for and
    /// collects later.
    public static let summarize = JobFunction<ReportSummary, String>("reports.summarize")
    /// `examples.sleep(seconds)` → `seconds`, sleeping cooperatively: a job that is still running when the
    /// application shuts down.
    public static let sleep = JobFunction<Double, Double>("examples.sleep")

    /// Every function above, ready for a `WorkerPool` (in-process) or a `JobRunner` (horses).
    public static var registry: JobFunctionRegistry {
        var functions = JobFunctionRegistry()
        functions.register(add) { x, y in x + y }
        functions.register(summarize) { text in ReportSummary(of: text) }
        functions.register(sleep) { seconds in
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return seconds
        }
        return functions
    }
}

/// What `reports.summarize` returns; stored in Redis as a JSON object (`{"words": 2, "lines": 1, …}`).
public struct ReportSummary: Codable, Sendable, Equatable {
    public var words: Int
    public var lines: Int
    public var characters: Int

    public init(words: Int, lines: Int, characters: Int) {
        self.words = words
        self.lines = lines
        self.characters = characters
    }

    /// Counts `text`'s words (runs of non-whitespace), lines and characters.
    public init(of text: String) {
        self.init(
            words: text.split(whereSeparator: \.isWhitespace).count,
            lines: text.isEmpty ? 0 : text.split(separator: "\n", omittingEmptySubsequences: false).count,
            characters: text.count)
    }
}
