import FoundationEssentials
import FuzzSupport
import RQ

// `CronExpression`: parse, then ask for the next few times after a fixed date; each must be later than the last.
fuzz { bytes in
    guard let expression = try? CronExpression(String(decoding: bytes, as: UTF8.self)) else { return }
    var date = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01 00:00 UTC
    for _ in 0..<3 {
        guard let next = expression.next(after: date) else { return }
        if next <= date { fatalError("\(expression): next(after: \(date)) is \(next)") }
        date = next
    }
}
