public import FoundationEssentials
import Glibc

/// A standard five-field cron expression: `minute hour day-of-month month day-of-week`.
///
/// Each field takes `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`, and comma-separated lists of
/// these; months and weekdays also take names (`jan`, `mon`). Weekdays run 0–7 with 0 and 7 both Sunday. As in
/// Vixie cron and Python's `croniter` (which RQ uses), when both day fields are restricted a day matches either.
/// The shortcuts `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` are accepted.
///
/// ```swift
/// let weekdayMornings = try CronExpression("30 7 * * mon-fri")
/// let next = weekdayMornings.next(after: Date())
/// ```
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let description: String
    private let minutes: UInt64
    private let hours: UInt64
    private let daysOfMonth: UInt64
    private let months: UInt64
    private let daysOfWeek: UInt64
    private let dayOfMonthRestricted: Bool
    private let dayOfWeekRestricted: Bool

    private static let shortcuts = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    private static let monthNames = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    private static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Parses an expression.
    ///
    /// - Parameter text: five fields separated by spaces or tabs, or a shortcut such as `@daily`.
    /// - Throws: ``RQError`` `invalidArgument` naming the field and the value that is wrong.
    public init(_ text: String) throws(RQError) {
        let trimmed = text.trimmingWhitespace()
        let expanded = Self.shortcuts[trimmed.lowercased()] ?? trimmed
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw RQError(
                .invalidArgument,
                "invalid cron expression '\(text)': expected 5 fields (minute hour day month weekday), got \(fields.count)"
            )
        }
        description = trimmed
        minutes = try Self.field(fields[0], name: "minute", in: 0...59, expression: text)
        hours = try Self.field(fields[1], name: "hour", in: 0...23, expression: text)
        daysOfMonth = try Self.field(fields[2], name: "day of month", in: 1...31, expression: text)
        months = try Self.field(fields[3], name: "month", in: 1...12, names: Self.monthNames, expression: text)
        var weekdays = try Self.field(fields[4], name: "day of week", in: 0...7, names: Self.dayNames, expression: text)
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }
        daysOfWeek = weekdays
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    /// The first whole minute strictly after `date` that the expression matches, in UTC (as RQ's cron reads
    /// expressions), or nil if none comes within eight years (`0 0 31 2 *` never matches).
    ///
    /// Plain calendar arithmetic: it needs no time-zone database, so it works in programs that link only
    /// FoundationEssentials (the `rq` command and runners built as the README advises).
    ///
    /// - Parameter date: the moment to search after.
    /// - Returns: the matching minute, or nil if none comes within eight years.
    public func next(after date: Date) -> Date? {
        // Whole minutes since the epoch, rounded down, then one on: "strictly after".
        var minute = Int((date.timeIntervalSince1970 / 60).rounded(.down)) + 1
        let limit = minute + 8 * 366 * 1440
        while minute < limit {
            let days = Self.floorDivide(minute, 1440)
            let minuteOfDay = minute - days * 1440
            let (year, month, day) = RQTimestamp.civilDate(daysSinceEpoch: days)
            // Skip whole months, days and hours that cannot match.
            if !Self.contains(months, month) {
                let (nextYear, nextMonth) = month == 12 ? (year + 1, 1) : (year, month + 1)
                minute = RQTimestamp.daysSinceEpoch(year: nextYear, month: nextMonth, day: 1) * 1440
                continue
            }
            // 1970-01-01 was a Thursday; weekdays count from Sunday = 0.
            if !dayMatches(day: day, weekday: Self.floorModulo(days + 4, 7)) {
                minute = (days + 1) * 1440
                continue
            }
            if !Self.contains(hours, minuteOfDay / 60) {
                minute = days * 1440 + (minuteOfDay / 60 + 1) * 60
                continue
            }
            if !Self.contains(minutes, minuteOfDay % 60) {
                minute += 1
                continue
            }
            return Date(timeIntervalSince1970: Double(minute) * 60)
        }
        return nil
    }

    private static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }

    private static func floorModulo(_ value: Int, _ divisor: Int) -> Int {
        value - floorDivide(value, divisor) * divisor
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        let byMonthDay = Self.contains(daysOfMonth, day)
        let byWeekday = Self.contains(daysOfWeek, weekday)
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): return byMonthDay || byWeekday
        case (true, false): return byMonthDay
        case (false, true): return byWeekday
        case (false, false): return true
        }
    }

    private static func contains(_ set: UInt64, _ value: Int) -> Bool { set & (1 << UInt64(value)) != 0 }

    /// Parses one field into a bit set of the values it allows.
    private static func field(
        _ text: String, name: String, in range: ClosedRange<Int>, names: [String] = [], expression: String
    ) throws(RQError) -> UInt64 {
        func problem(_ why: String) -> RQError {
            RQError(.invalidArgument, "invalid cron expression '\(expression)': \(name) field '\(text)' \(why)")
        }
        func value(_ token: Substring) throws(RQError) -> Int {
            if let number = Int(token) {
                guard range.contains(number) else { throw problem("has \(number) outside \(range)") }
                return number
            }
            // Names map to 1-based months and 0-based weekdays.
            if let index = names.firstIndex(of: token.lowercased()) { return index + (range.lowerBound == 1 ? 1 : 0) }
            throw problem("has '\(token)', which is not a number\(names.isEmpty ? "" : " or a name")")
        }
        var set: UInt64 = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw problem("has an empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw problem("has more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let number = Int(pieces[1]), number > 0 else { throw problem("has a step that is not positive") }
                step = number
            }
            let base = pieces[0]
            var low = range.lowerBound
            var high = range.upperBound
            if base != "*" {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2, !bounds.contains(where: \.isEmpty) else { throw problem("has a bad range") }
                low = try value(bounds[0])
                if bounds.count == 2 {
                    high = try value(bounds[1])
                    guard low <= high else { throw problem("has a range that runs backwards") }
                } else if pieces.count == 1 {
                    high = low
                }
            }
            for number in stride(from: low, through: high, by: step) { set |= 1 << UInt64(number) }
        }
        return set
    }
}
