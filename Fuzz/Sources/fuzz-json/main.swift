import FuzzSupport
import RQ

// `JSONValue` parsing; what parses must serialize and parse back to the same text.
fuzz { bytes in
    guard let value = try? JSONValue(parsing: bytes) else { return }
    let text = value.serialized()
    guard let again = try? JSONValue(parsing: text) else { fatalError("cannot parse its own output: \(value)") }
    if again.serialized() != text { fatalError("serialization does not round-trip: \(value)") }
}
