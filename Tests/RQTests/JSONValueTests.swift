import Testing

@testable import RQ

@Suite struct JSONValueTests {
    @Test func printsLikePythonJSONDumps() {
        let value: JSONValue = ["mymod.myfunc", nil, [1, "a"], ["k": 2]]
        #expect(value.description == #"["mymod.myfunc", null, [1, "a"], {"k": 2}]"#)
    }

    @Test func escapesNonASCIIAsPythonDoes() {
        #expect(JSONValue.string("é\u{1F600}\n\"\\").description == #""\u00e9\ud83d\ude00\n\"\\""#)
    }

    @Test func printsFloatsAsPythonRepr() {
        #expect(JSONValue.double(1.5).description == "1.5")
        #expect(JSONValue.double(2).description == "2.0")
        #expect(JSONValue.double(1e16).description == "1e+16")
        #expect(JSONValue.double(1e-5).description == "1e-05")
        #expect(JSONValue.double(.infinity).description == "Infinity")
    }

    @Test func parsesWhatItPrints() throws {
        let value: JSONValue = ["a": [1, 2.5, true, nil, "x\u{e9}"], "b": ["c": -3]]
        #expect(try JSONValue(parsing: value.description) == value)
    }

    /// Python's `json.loads` reads long integers exactly; so does this, and prints the same digits back.
    @Test func keepsIntegersBeyond64BitsExact() throws {
        let text = "[18446744073709551616, -170141183460469231731687303715884105728, 9223372036854775807, 1e2]"
        let value = try JSONValue(parsing: text)
        #expect(
            value == [
                .bigInt("18446744073709551616"), .bigInt("-170141183460469231731687303715884105728"),
                .int(Int.max), .double(100),
            ])
        #expect(
            value.description
                == "[18446744073709551616, -170141183460469231731687303715884105728, 9223372036854775807, 100.0]")
        #expect(value.arrayValue?[0].intValue == nil)
        #expect(value.arrayValue?[0].doubleValue == 18446744073709551616.0)
        #expect(JSONValue.bigInteger("-0009223372036854775808") == .int(Int.min))
        #expect(JSONValue.bigInteger("000018446744073709551616") == .bigInt("18446744073709551616"))
        #expect(JSONValue.bigInteger("12a") == nil && JSONValue.bigInteger("-") == nil)
        #expect(PythonRepr.repr(.bigInt("-18446744073709551616")) == "-18446744073709551616")
    }

    @Test func parsesSurrogatePairsAndPythonSpecials() throws {
        #expect(try JSONValue(parsing: #""\ud83d\ude00""#) == .string("\u{1F600}"))
        #expect(try JSONValue(parsing: "[NaN, -Infinity]").arrayValue?.count == 2)
    }

    @Test func keepsObjectKeyOrder() throws {
        let value = try JSONValue(parsing: #"{"z": 1, "a": 2}"#)
        #expect(value.description == #"{"z": 1, "a": 2}"#)
    }

    @Test(arguments: ["", "[1,", #"{"a" 1}"#, "tru", #""\x""#, "[1] x", "01a"])
    func rejectsInvalidJSONWithOffset(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test func bridgesCodable() throws {
        struct Point: Codable, Equatable { var x: Int; var y: String }
        let value = try JSONValue(encoding: Point(x: 1, y: "é"))
        #expect(value["x"] == 1)
        #expect(try value.decode(Point.self) == Point(x: 1, y: "é"))
    }
}
