import CZlib
import Foundation
import Testing

@testable import RQ

@Suite struct WireFormatTests {
    /// The exact bytes of reference §3.2 — Python's zlib.compress of the JSON job tuple — from `Zlib.compress`, and
    /// the JSON itself as the (short) job's stored `data`.
    @Test func dataIsByteIdenticalToPython() {
        let payload = JobPayload(functionName: "mymod.myfunc", args: [1, "a"], kwargs: ["k": 2])
        let json = Array(#"["mymod.myfunc", null, [1, "a"], {"k": 2}]"#.utf8)
        #expect(payload.encoded() == json)
        let hex = Zlib.compress(json).map { String(format: "%02x", $0) }.joined()
        #expect(
            hex
                == "789c8b56caadcccd4fd1cbad4c2bcd4b56d251c82bcdc9d1518836d451504a548ad551a856ca56b25230aa8d050024760c8f"
        )
    }

    @Test func dataRoundTripsAndAcceptsUncompressedJSON() throws {
        let payload = JobPayload(functionName: "f", args: ["é", [1]], kwargs: ["a": ["b": nil]])
        #expect(try JobPayload(decoding: payload.encoded(), jobID: "j") == payload)
        let plain = Array(#"["f", null, [1], {}]"#.utf8)
        #expect(try JobPayload(decoding: plain, jobID: "j").args == [1])
    }

    @Test func garbageDataNamesJobAndField() {
        for bytes: [UInt8] in [
            [1, 2, 3], [0x78, 0x9c, 1, 2, 3, 4, 5], Array(#"{"a": 1}"#.utf8), [0x80, 5, 0x95], [],
        ] {
            do {
                _ = try JobPayload(decoding: bytes, jobID: "job-7")
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.jobID == "job-7")
                #expect(error.field == "data")
                #expect(error.message.contains("job-7") && error.message.contains("'data'"))
            }
        }
    }

    @Test func zlibRejectsTruncatedStreams() throws {
        let compressed = Zlib.compress(Array(repeating: 65, count: 1000))
        #expect(throws: Zlib.Failure.self) { try Zlib.decompress(Array(compressed.dropLast(3))) }
        #expect(try Zlib.decompress(compressed).count == 1000)
    }

    /// Short payloads are stored as plain JSON, longer ones as zlib streams equal to Python's `zlib.compress`; both
    /// read back.
    @Test func payloadsAreStoredPlainWhenShortAndAsZlibsDefaultWhenLong() throws {
        let short = JobPayload(functionName: "examples.add", args: [2, 3], kwargs: [:])
        #expect(short.encoded() == Array(#"["examples.add", null, [2, 3], {}]"#.utf8))
        #expect(try JobPayload(decoding: short.encoded(), jobID: "j") == short)
        let long = JobPayload(
            functionName: "reports.build", args: [.string(String(repeating: "x", count: 200))], kwargs: [:])
        let json = Array(#"["reports.build", null, ["\#(String(repeating: "x", count: 200))"], {}]"#.utf8)
        var reference = [UInt8](repeating: 0, count: Int(compressBound(uLong(json.count))))
        var length = uLongf(reference.count)
        #expect(compress2(&reference, &length, json, uLong(json.count), Z_DEFAULT_COMPRESSION) == Z_OK)
        #expect(long.encoded() == Array(reference.prefix(Int(length))))
        #expect(try JobPayload(decoding: long.encoded(), jobID: "j") == long)
    }

    /// The hash timestamp's date and time of day agree with libc's `gmtime_r` from 1900 to 2200.
    @Test func timestampDatesAgreeWithGmtime() {
        for seconds in stride(from: -2_208_988_800, through: 7_258_118_400, by: 86_400 * 37 + 3_607) {
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.000000Z", parts.tm_year + 1900, parts.tm_mon + 1,
                parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
            #expect(RQTimestamp.format(Date(timeIntervalSince1970: Double(seconds))) == expected)
        }
    }

    @Test func timestampsInBothFormats() throws {
        let date = Date(timeIntervalSince1970: 1_795_788_359.522292)
        #expect(RQTimestamp.format(date) == "2026-11-27T14:05:59.522292Z")
        let parsed = try #require(RQTimestamp.parse("2026-11-27T14:05:59.522292Z"))
        #expect(abs(parsed.timeIntervalSince1970 - 1_795_788_359.522292) < 1e-5)
        #expect(RQTimestamp.parse("2026-11-27T14:05:59Z") != nil)
        #expect(RQTimestamp.parse("2026-11-27T14:05:59.5Z") != nil)
        #expect(RQTimestamp.parse("2026-11-27 14:05:59.522+00:00") != nil)
        #expect(RQTimestamp.parse("yesterday") == nil)
        #expect(RQTimestamp.parse("2026-13-28T11:25:59Z") == nil)
        #expect(RQTimestamp.epochString(date) == "1795788359.522292")
    }

    @Test func callStringMatchesPython() {
        // Expected strings printed by Python RQ 2.12's get_call_string for the same calls.
        #expect(
            PythonRepr.callString(function: "mymod.myfunc", args: [1, "a"], kwargs: ["k": 2])
                == "mymod.myfunc(1, 'a', k=2)")
        let long = String(repeating: "x", count: 100)
        #expect(
            PythonRepr.callString(
                function: "f",
                args: [.string(long), 1.5, nil, true, [1, "b"], ["k": "v'"], "it's", "say \"hi\"", "a\nb"],
                kwargs: ["z": 1, "a": 2])
                == "f('" + String(repeating: "x", count: 74)
                + "..., 1.5, None, True, [1, 'b'], {'k': \"v'\"}, \"it's\", 'say \"hi\"', 'a\\nb', a=2, z=1)")
    }

    @Test func timeoutStrings() throws {
        #expect(try JobTimeout(parsing: "1h3m10s").seconds == 3790)
        #expect(try JobTimeout(parsing: "180").seconds == 180)
        #expect(try JobTimeout(parsing: "2d").seconds == 172_800)
        #expect(try JobTimeout(.milliseconds(1500)).seconds == 2)
        #expect(JobTimeout.none.seconds == -1)
        #expect(throws: RQError.self) { try JobTimeout(parsing: "10x") }
        #expect(throws: RQError.self) { try JobTimeout(parsing: "h") }
        #expect(throws: RQError.self) { try JobTimeout(seconds: 0) }
    }

    @Test func statusesToleratedOrRejected() {
        #expect(JobStatus.isWellFormed("rate_limited"))
        #expect(!JobStatus(rawValue: "rate_limited").isKnown)
        #expect(!JobStatus.isWellFormed("b@d status"))
        #expect(JobStatus.allKnown.count == 9)
    }

    @Test func optionsAreValidated() {
        #expect(throws: RQError.self) { try EnqueueOptions(jobID: "a:b").validate() }
        #expect(throws: RQError.self) { try EnqueueOptions(ttl: 0).validate() }
        #expect(throws: RQError.self) { try EnqueueOptions(resultTTL: -2).validate() }
        #expect(throws: Never.self) { try EnqueueOptions(resultTTL: -1, jobID: "ok_id-1").validate() }
    }
}

@Suite struct RandomIDTests {
    @Test func uuid4HasPythonsShape() {
        let id = RandomID.uuid4()
        let parts = id.split(separator: "-").map(\.count)
        #expect(parts == [8, 4, 4, 4, 12])
        #expect(id == id.lowercased())
        #expect(Array(id)[14] == "4")
        #expect("89ab".contains(Array(id)[19]))
        #expect(RandomID.uuid4() != id)
    }

    @Test func hex32IsLowerCaseHex() {
        let id = RandomID.hex32()
        #expect(id.count == 32)
        #expect(id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }
}

@Suite struct StreamIDTests {
    @Test func parsesAndOrdersAsRedisDoes() {
        #expect(StreamID("1700000000000-5")?.description == "1700000000000-5")
        #expect(StreamID("0")?.description == "0-0")
        #expect(StreamID("x-1") == nil && StreamID("1-2-3") == nil && StreamID("1-") == nil)
        #expect(StreamID("5-10")! > StreamID("5-9")!)
        #expect(StreamID("6-0")! > StreamID("5-99")!)
        #expect(!(StreamID("5-1")! < StreamID("5-1")!))
    }
}
