/// How long a job may run before the worker stops it.
///
/// Written to the job hash as whole seconds; `-1` means no limit. Create one from seconds (an integer literal),
/// a `Duration`, or an RQ-style string such as `"90"`, `"10m"` or `"1h3m10s"`.
public struct JobTimeout: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The limit in seconds; `-1` for none.
    public let seconds: Int

    /// No limit (`-1` on the wire).
    public static let none = JobTimeout(uncheckedSeconds: -1)
    /// RQ's default, 180 seconds.
    public static let `default` = JobTimeout(uncheckedSeconds: 180)

    private init(uncheckedSeconds: Int) { seconds = uncheckedSeconds }

    /// A limit in whole seconds; `-1` means none.
    ///
    /// - Parameter seconds: the limit: positive, or `-1` for none.
    /// - Throws: ``RQError`` (`invalidArgument`) for 0 or values below -1, as RQ rejects them.
    public init(seconds: Int) throws(RQError) {
        guard seconds > 0 || seconds == -1 else {
            throw RQError(.invalidArgument, "timeout must be a positive number of seconds or -1 (none), not \(seconds)")
        }
        self.seconds = seconds
    }

    /// Integer literals are seconds; a literal of 0 or below -1 traps, as it is a programming error.
    ///
    /// - Parameter value: the limit in seconds: positive, or `-1` for none.
    public init(integerLiteral value: Int) {
        precondition(value > 0 || value == -1, "timeout must be positive or -1")
        seconds = value
    }

    /// A limit from a duration, rounded up to whole seconds.
    ///
    /// - Parameter duration: the limit; it must be positive.
    /// - Throws: ``RQError`` (`invalidArgument`) for a duration of zero or less.
    public init(_ duration: Duration) throws(RQError) {
        let (whole, fraction) = duration.components
        try self.init(seconds: Int(whole) + (fraction > 0 ? 1 : 0))
    }

    /// Parses RQ's timeout strings: plain seconds (`"180"`), or numbers with units `d`, `h`, `m`, `s`, combined
    /// (`"1h3m10s"`).
    ///
    /// - Parameter text: the timeout string; `"-1"` means none.
    /// - Throws: ``RQError`` (`invalidArgument`) for text that is not such a string, or a limit of 0 or below -1.
    public init(parsing text: String) throws(RQError) {
        try self.init(seconds: try Self.parseSeconds(text, what: "timeout"))
    }

    /// Parses a duration in RQ's notation — `"90"`, `"10s"`, `"5m"`, `"1h30m"`, `"2d"` — into seconds.
    ///
    /// - Parameter text: the duration string.
    /// - Returns: the duration in whole seconds.
    /// - Throws: ``RQError`` (`invalidArgument`) naming the text, for text that is not such a duration.
    public static func seconds(parsing text: String) throws(RQError) -> Int {
        try parseSeconds(text, what: "duration")
    }

    /// Parses `"90"`, `"10s"`, `"5m"`, `"1h30m"`, `"2d"` into seconds.
    static func parseSeconds(_ text: String, what: String) throws(RQError) -> Int {
        let trimmed = text.trimmingWhitespace()
        if let plain = Int(trimmed) { return plain }
        var total = 0
        var digits = ""
        var sawUnit = false
        for character in trimmed.lowercased() {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            let unit: Int
            switch character {
            case "d": unit = 86400
            case "h": unit = 3600
            case "m": unit = 60
            case "s": unit = 1
            default: throw RQError(.invalidArgument, "invalid \(what) '\(text)': unknown unit '\(character)'")
            }
            guard let value = Int(digits) else {
                throw RQError(.invalidArgument, "invalid \(what) '\(text)': expected a number before '\(character)'")
            }
            total += value * unit
            digits = ""
            sawUnit = true
        }
        guard sawUnit, digits.isEmpty else {
            throw RQError(.invalidArgument, "invalid \(what) '\(text)': use seconds or units like 10s, 5m, 1h3m10s, 2d")
        }
        return total
    }

    public var description: String { seconds == -1 ? "none" : "\(seconds)s" }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
