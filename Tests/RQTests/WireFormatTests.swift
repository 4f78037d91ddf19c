import CZlib
import Foundation
import Testing

@testable import RQ

@Suite struct WireFormatTests {
    /// The exact bytes of reference §3.2: Python's zlib.compress of the JSON job tuple.
    @Test func dataIsByteIdenticalToPython() {
        let payload = JobPayload(functionName: "mymod.myfunc", args: [1, "a"], kwargs: ["k": 2])
        let hex = payload.encoded().map { String(format: "%02x", $0) }.joined()
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

    /// Short inputs are deflated by `SmallDeflate`. Wherever zlib's `compress2` (Python's `zlib.compress`) writes a
    /// stored or fixed-Huffman block, the bytes must be the same — on realistic payloads, repetitive ones, random
    /// bytes (stored blocks) and inputs of mostly one letter (long hash chains). Where zlib writes a dynamic block,
    /// the stream must inflate to the input.
    @Test func shortInputsCompressLikeZlibsDefault() throws {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        let limit = SmallDeflate.inputLimit
        let words = ["examples.", "send_email", "user", "@example.com", "id", "42", "\"", ", ", "null", "[", "]", "{}"]
        var inputs: [[UInt8]] = (0..<1000).map { _ in
            var text = ""
            while text.utf8.count < 1 + next(limit - 1) {
                text += next(3) == 0 ? String(next(100_000)) : words[next(12)]
            }
            return Array(text.utf8.prefix(limit - 1))
        }
        inputs += (0..<limit).map { [UInt8](repeating: UInt8(ascii: "a"), count: $0) }
        inputs += (0..<limit).map { count in (0..<count).map { UInt8(truncatingIfNeeded: $0 % 7) } }
        inputs += (0..<300).map { _ in (0..<next(limit)).map { _ in UInt8(next(256)) } }
        inputs += (0..<600).map { _ in
            let alphabet = 2 + next(6)
            return (0..<next(limit)).map { _ in UInt8(ascii: "a") + UInt8(next(alphabet)) }
        }
        inputs += (0..<600).map { _ in  // Mostly one letter: hash chains longer than zlib's lazy-search limit.
            let rarity = 4 + next(12)
            return (0..<(96 + next(limit - 96))).map { _ in next(rarity) == 0 ? UInt8(ascii: "b") : UInt8(ascii: "a") }
        }
        var blocks: [String: Int] = [:]
        for input in inputs {
            var reference = [UInt8](repeating: 0, count: Int(compressBound(uLong(input.count))))
            var length = uLongf(reference.count)
            #expect(compress2(&reference, &length, input, uLong(input.count), Z_DEFAULT_COMPRESSION) == Z_OK)
            reference = Array(reference.prefix(Int(length)))
            let compressed = Zlib.compress(input)
            let kind = ["stored", "fixed", "dynamic", "invalid"][Int(reference[2] >> 1 & 3)]
            blocks[kind, default: 0] += 1
            if kind == "dynamic" {
                #expect(try Zlib.decompress(compressed) == input, "input \(input)")
            } else {
                #expect(compressed == reference, "input \(input)")
            }
        }
        #expect(blocks["stored", default: 0] > 100 && blocks["fixed", default: 0] > 100, "\(blocks)")
        #expect(blocks["dynamic", default: 0] > 100, "\(blocks)")
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
