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
