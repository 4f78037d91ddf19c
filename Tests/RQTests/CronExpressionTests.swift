import Foundation
import Testing

@testable import RQ

@Suite struct CronExpressionTests {
    private func utc(_ text: String) -> Date { RQTimestamp.parse(text)! }

    @Test func nextMatchesTheFieldsInUTC() throws {
        let start = utc("2026-11-28T10:17:30.000000Z")
        #expect(try CronExpression("*/5 * * * *").next(after: start) == utc("2026-11-28T10:20:00.000000Z"))
        #expect(try CronExpression("0 6 * * *").next(after: start) == utc("2026-11-29T06:00:00.000000Z"))
        #expect(try CronExpression("30 7 * * mon-fri").next(after: start) == utc("2026-11-30T07:30:00.000000Z"))
        #expect(try CronExpression("@monthly").next(after: start) == utc("2026-12-01T00:00:00.000000Z"))
        #expect(try CronExpression("0 0 29 2 *").next(after: start) == utc("2028-02-29T00:00:00.000000Z"))
        // An exact match is not "after": the next one comes.
        #expect(
            try CronExpression("17 10 * * *").next(after: utc("2026-11-28T10:17:00.000000Z"))
                == utc("2026-11-29T10:17:00.000000Z"))
        #expect(try CronExpression("0 0 31 2 *").next(after: start) == nil)
    }

    @Test func civilDateArithmeticRoundTripsAcrossEras() {
        for days in stride(from: -1_000_000, through: 1_000_000, by: 997) {
            let (year, month, day) = RQTimestamp.civilDate(daysSinceEpoch: days)
            #expect(RQTimestamp.daysSinceEpoch(year: year, month: month, day: day) == days)
        }
        #expect(RQTimestamp.daysSinceEpoch(year: 1970, month: 1, day: 1) == 0)
        #expect(RQTimestamp.daysSinceEpoch(year: 2000, month: 3, day: 1) == 11_017)
        #expect(RQTimestamp.daysSinceEpoch(year: 1969, month: 12, day: 31) == -1)
    }

    @Test func nextCrossesYearsAndLeapDays() throws {
        let start = utc("2027-12-31T23:59:00.000000Z")
        #expect(try CronExpression("59 23 31 12 *").next(after: start) == utc("2028-12-31T23:59:00.000000Z"))
        #expect(try CronExpression("0 0 29 2 *").next(after: start) == utc("2028-02-29T00:00:00.000000Z"))
        #expect(try CronExpression("* * * * *").next(after: start) == utc("2028-01-01T00:00:00.000000Z"))
        // Before the epoch too: 1969-12-28 was a Sunday.
        #expect(
            try CronExpression("0 0 * * sun").next(after: utc("1969-12-25T00:00:00.000000Z"))
                == utc("1969-12-28T00:00:00.000000Z"))
    }

    @Test func badExpressionsNameTheFieldAndValue() {
        let cases: [(String, String)] = [
            ("* * * *", "expected 5 fields"),
            ("61 * * * *", "minute field '61' has 61 outside 0...59"),
            ("* * * foo *", "month field 'foo' has 'foo', which is not a number or a name"),
            ("*/0 * * * *", "step that is not positive"),
            ("5-1 * * * *", "runs backwards"),
            ("1,,2 * * * *", "empty list item"),
        ]
        for (text, message) in cases {
            #expect {
                _ = try CronExpression(text)
            } throws: { error in
                (error as? RQError)?.message.contains(message) == true
            }
        }
    }
}

@Suite struct BackoffTests {
    @Test func doublesUpToTheCapAndStartsAgainAfterAReset() {
        var backoff = Backoff(first: .milliseconds(100), cap: .seconds(1))
        let waits = (0..<6).map { _ in backoff.next() }
        #expect(
            waits == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1),
                .seconds(1),
            ])
        backoff.reset()
        #expect(backoff.next() == .milliseconds(100))
        var capped = Backoff(first: .seconds(9), cap: .seconds(5))
        #expect(capped.next() == .seconds(5))
    }
}
