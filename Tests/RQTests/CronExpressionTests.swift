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
