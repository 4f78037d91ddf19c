import Testing

@testable import RQ

/// Bytes in hex, for fixtures.
private func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
}

/// `str(2**2040)`.
private let twoToThe2040 =
    "126238304966058622268417487065116999845484776053576109500509161826268184136202698801551568"
    + "013761380717534054534851164138648904527931605160527688095259563605939964364716019515983399"
    + "209962459578542172100149937763938581219604072733422507180056009672540900709554109516816573"
    + "779593326332288314873251559077853068444977864803391962580800682760017849589281937637993445"
    + "539366428356761821065267423102149447628375691862210717202025241630303118559188678304314076"
    + "943801692528246980959705901641444238894928620825482303431806955690226308773426829503900930"
    + "529395181208739591967195841536053143145775307050594328881077553168201547776"

/// A pickle written by Python and the value it holds.
struct Fixture: Sendable, CustomTestStringConvertible {
    var version: Int
    /// Whether the writer must give exactly these bytes (protocol 5, no shared objects, no tuple or set).
    var writtenByPython: Bool
    var hex: String
    var value: JSONValue
    var testDescription: String { "protocol \(version): \(PythonRepr.truncate(value.description, to: 40))" }
}

/// Fixtures made with Python 3.11 (`pickle.dumps(value, protocol=N)`); the generating expression stands above each.
private let fixtures: [Fixture] = [
    // python3 -c "import pickle; print(pickle.dumps(None, protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "80024e2e",
        value: nil),
    // python3 -c "import pickle; print(pickle.dumps(None, protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: true,
        hex: "80054e2e",
        value: nil),
    // python3 -c "import pickle; print(pickle.dumps(True, protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "8002882e",
        value: true),
    // python3 -c "import pickle; print(pickle.dumps(False, protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: true,
        hex: "8005892e",
        value: false),
    // python3 -c "import pickle; print(pickle.dumps([0, 255, 256, 65535, 65536, -1, -2**31, 2**31 - 1, 2**31, -2**31 - 1, 2**63 - 1, -2**63], protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "80025d7100284b004bff4d00014dffff4a000001004affffffff4a000000804affffff7f8a0500000080008a05ffffff"
            + "7fff8a08ffffffffffffff7f8a080000000000000080652e",
        value: [
            0, 255, 256, 65535, 65536, -1, -2_147_483_648, 2_147_483_647, 2_147_483_648, -2_147_483_649, .int(.max),
            .int(.min),
        ]),
    // python3 -c "import pickle; print(pickle.dumps([0, 255, 256, 65535, 65536, -1, -2**31, 2**31 - 1, 2**31, -2**31 - 1, 2**63 - 1, -2**63], protocol=3).hex())"
    Fixture(
        version: 3, writtenByPython: false,
        hex: "80035d7100284b004bff4d00014dffff4a000001004affffffff4a000000804affffff7f8a0500000080008a05ffffff"
            + "7fff8a08ffffffffffffff7f8a080000000000000080652e",
        value: [
            0, 255, 256, 65535, 65536, -1, -2_147_483_648, 2_147_483_647, 2_147_483_648, -2_147_483_649, .int(.max),
            .int(.min),
        ]),
    // python3 -c "import pickle; print(pickle.dumps([0, 255, 256, 65535, 65536, -1, -2**31, 2**31 - 1, 2**31, -2**31 - 1, 2**63 - 1, -2**63], protocol=4).hex())"
    Fixture(
        version: 4, writtenByPython: false,
        hex: "80049545000000000000005d94284b004bff4d00014dffff4a000001004affffffff4a000000804affffff7f8a050000"
            + "0080008a05ffffff7fff8a08ffffffffffffff7f8a080000000000000080652e",
        value: [
            0, 255, 256, 65535, 65536, -1, -2_147_483_648, 2_147_483_647, 2_147_483_648, -2_147_483_649, .int(.max),
            .int(.min),
        ]),
    // python3 -c "import pickle; print(pickle.dumps([0, 255, 256, 65535, 65536, -1, -2**31, 2**31 - 1, 2**31, -2**31 - 1, 2**63 - 1, -2**63], protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: true,
        hex: "80059545000000000000005d94284b004bff4d00014dffff4a000001004affffffff4a000000804affffff7f8a050000"
            + "0080008a05ffffff7fff8a08ffffffffffffff7f8a080000000000000080652e",
        value: [
            0, 255, 256, 65535, 65536, -1, -2_147_483_648, 2_147_483_647, 2_147_483_648, -2_147_483_649, .int(.max),
            .int(.min),
        ]),
    // python3 -c "import pickle; print(pickle.dumps([2**64, -2**64, 2**63, -2**63 - 1, 10**40, -(10**40), 2**2040], protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "80025d7100288a090000000000000000018a090000000000000000ff8a090000000000000080008a09ffffffffffffff"
            + "7fff8a11000000000061f5b9abbfa45cc3f129631d8a1100000000009f0a4654405ba33c0ed69ce28b00010000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "00000000000000000000000001652e",
        value: [
            .bigInt("18446744073709551616"), .bigInt("-18446744073709551616"), .bigInt("9223372036854775808"),
            .bigInt("-9223372036854775809"), .bigInt("1" + String(repeating: "0", count: 40)),
            .bigInt("-1" + String(repeating: "0", count: 40)), .bigInt(twoToThe2040),
        ]),
    // python3 -c "import pickle; print(pickle.dumps([2**64, -2**64, 2**63, -2**63 - 1, 10**40, -(10**40), 2**2040], protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: true,
        hex: "8005955c010000000000005d94288a090000000000000000018a090000000000000000ff8a090000000000000080008a"
            + "09ffffffffffffff7fff8a11000000000061f5b9abbfa45cc3f129631d8a1100000000009f0a4654405ba33c0ed69ce2"
            + "8b0001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000001652e",
        value: [
            .bigInt("18446744073709551616"), .bigInt("-18446744073709551616"), .bigInt("9223372036854775808"),
            .bigInt("-9223372036854775809"), .bigInt("1" + String(repeating: "0", count: 40)),
            .bigInt("-1" + String(repeating: "0", count: 40)), .bigInt(twoToThe2040),
        ]),
    // python3 -c "import pickle; print(pickle.dumps([1.5, -0.0, 1e300, float('inf')], protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "80025d710028473ff8000000000000478000000000000000477e37e43c8800759c477ff0000000000000652e",
        value: [1.5, -0.0, 1e300, .double(.infinity)]),
    // python3 -c "import pickle; print(pickle.dumps([1.5, -0.0, 1e300, float('inf')], protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: true,
        hex: "80059529000000000000005d9428473ff8000000000000478000000000000000477e37e43c8800759c477ff000000000"
            + "0000652e",
        value: [1.5, -0.0, 1e300, .double(.infinity)]),
    // python3 -c "import pickle; print(pickle.dumps('h\u00e9llo \u2713 \U0001f600', protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "8002580f00000068c3a96c6c6f20e29c9320f09f988071002e",
        value: "h\u{e9}llo \u{2713} \u{1F600}"),
    // python3 -c "import pickle; print(pickle.dumps('h\u00e9llo \u2713 \U0001f600', protocol=3).hex())"
    Fixture(
        version: 3, writtenByPython: false,
        hex: "8003580f00000068c3a96c6c6f20e29c9320f09f988071002e",
        value: "h\u{e9}llo \u{2713} \u{1F600}"),
    // python3 -c "import pickle; print(pickle.dumps('h\u00e9llo \u2713 \U0001f600', protocol=4).hex())"
    Fixture(
        version: 4, writtenByPython: false,
        hex: "80049513000000000000008c0f68c3a96c6c6f20e29c9320f09f9880942e",
        value: "h\u{e9}llo \u{2713} \u{1F600}"),
    // python3 -c "import pickle; print(pickle.dumps('h\u00e9llo \u2713 \U0001f600', protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: true,
        hex: "80059513000000000000008c0f68c3a96c6c6f20e29c9320f09f9880942e",
        value: "h\u{e9}llo \u{2713} \u{1F600}"),
    // python3 -c "import pickle; print(pickle.dumps(('mymod.myfunc', None, (1, 'a'), {'k': 2}), protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "800228580c0000006d796d6f642e6d7966756e6371004e4b0158010000006171018671027d710358010000006b71044b"
            + "02737471052e",
        value: ["mymod.myfunc", nil, [1, "a"], ["k": 2]]),
    // python3 -c "import pickle; print(pickle.dumps(('mymod.myfunc', None, (1, 'a'), {'k': 2}), protocol=3).hex())"
    Fixture(
        version: 3, writtenByPython: false,
        hex: "800328580c0000006d796d6f642e6d7966756e6371004e4b0158010000006171018671027d710358010000006b71044b"
            + "02737471052e",
        value: ["mymod.myfunc", nil, [1, "a"], ["k": 2]]),
    // python3 -c "import pickle; print(pickle.dumps(('mymod.myfunc', None, (1, 'a'), {'k': 2}), protocol=4).hex())"
    Fixture(
        version: 4, writtenByPython: false,
        hex: "8004952500000000000000288c0c6d796d6f642e6d7966756e63944e4b018c01619486947d948c016b944b027374942e",
        value: ["mymod.myfunc", nil, [1, "a"], ["k": 2]]),
    // python3 -c "import pickle; print(pickle.dumps(('mymod.myfunc', None, (1, 'a'), {'k': 2}), protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: false,
        hex: "8005952500000000000000288c0c6d796d6f642e6d7966756e63944e4b018c01619486947d948c016b944b027374942e",
        value: ["mymod.myfunc", nil, [1, "a"], ["k": 2]]),
    // python3 -c "import pickle; print(pickle.dumps({'a': [1, (2, 3)], 'b': {'c': None, 'd': [True, False]}, 'e': ()}, protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "80027d71002858010000006171015d7102284b014b024b038671036558010000006271047d7105285801000000637106"
            + "4e58010000006471075d71082888896575580100000065710929752e",
        value: ["a": [1, [2, 3]], "b": ["c": nil, "d": [true, false]], "e": []]),
    // python3 -c "import pickle; print(pickle.dumps({'a': [1, (2, 3)], 'b': {'c': None, 'd': [True, False]}, 'e': ()}, protocol=4).hex())"
    Fixture(
        version: 4, writtenByPython: false,
        hex: "80049531000000000000007d94288c0161945d94284b014b024b038694658c0162947d94288c0163944e8c0164945d94"
            + "28888965758c01659429752e",
        value: ["a": [1, [2, 3]], "b": ["c": nil, "d": [true, false]], "e": []]),
    // python3 -c "import pickle; print(pickle.dumps({'a': [1, (2, 3)], 'b': {'c': None, 'd': [True, False]}, 'e': ()}, protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: false,
        hex: "80059531000000000000007d94288c0161945d94284b014b024b038694658c0162947d94288c0163944e8c0164945d94"
            + "28888965758c01659429752e",
        value: ["a": [1, [2, 3]], "b": ["c": nil, "d": [true, false]], "e": []]),
    // python3 -c "import pickle; print(pickle.dumps({1, 2, 3}, protocol=4).hex())"
    Fixture(
        version: 4, writtenByPython: false,
        hex: "8004950b000000000000008f94284b014b024b03902e",
        value: [1, 2, 3]),
    // python3 -c "import pickle; print(pickle.dumps({1, 2, 3}, protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: false,
        hex: "8005950b000000000000008f94284b014b024b03902e",
        value: [1, 2, 3]),
    // python3 -c "import pickle; print(pickle.dumps(frozenset({7}), protocol=4).hex())"
    Fixture(
        version: 4, writtenByPython: false,
        hex: "8004950600000000000000284b0791942e",
        value: [7]),
    // python3 -c "import pickle; print(pickle.dumps(frozenset({7}), protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: false,
        hex: "8005950600000000000000284b0791942e",
        value: [7]),
    // python3 -c "import pickle; print(pickle.dumps((1, 2, 3, 4), protocol=2).hex())"
    Fixture(
        version: 2, writtenByPython: false,
        hex: "8002284b014b024b034b047471002e",
        value: [1, 2, 3, 4]),
    // python3 -c "import pickle; print(pickle.dumps((1, 2, 3, 4), protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: false,
        hex: "8005950c00000000000000284b014b024b034b0474942e",
        value: [1, 2, 3, 4]),
    // python3 -c "import pickle; print(pickle.dumps(['x' * 300], protocol=4).hex())"
    Fixture(
        version: 4, writtenByPython: false,
        hex: "80049536010000000000005d94582c010000787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "78787878787878787878787878787878787878787878787878787878787894612e",
        value: [.string(String(repeating: "x", count: 300))]),
    // python3 -c "import pickle; print(pickle.dumps(['x' * 300], protocol=5).hex())"
    Fixture(
        version: 5, writtenByPython: true,
        hex: "80059536010000000000005d94582c010000787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
            + "78787878787878787878787878787878787878787878787878787878787894612e",
        value: [.string(String(repeating: "x", count: 300))]),

]

/// What each hostile or malformed input must be refused with (a part of the message).
private let hostile: [(hex: String, message: String)] = [
    ("", "no STOP"),
    ("80", "truncated"),
    ("80064e2e", "unsupported protocol 6"),
    ("80054e", "no STOP"),
    ("8c056162", "truncated"),
    ("8dffffffffffffff7f2e", "truncated"),
    ("8effffffffffffffff2e", "truncated"),
    ("96ffffffffffffff7f2e", "truncated"),
    ("95ffffffffffffffff4e2e", "truncated"),
    ("8bffffff7f2e", "longer than 1786"),
    ("8bffffffff2e", "negative length"),
    ("8a08ffff2e", "truncated"),
    ("612e", "too few values"),
    ("852e", "too few values"),
    ("302e", "empty stack"),
    ("2e", "STOP with 0 values"),
    ("4e4e2e", "STOP with 2 values"),
    ("284e2e", "1 marks"),
    ("6805", "memo has no entry 5"),
    ("6a00010000", "memo has no entry 256"),
    ("652e", "without a MARK"),
    ("4e284b0165", "APPENDS on a None"),
    ("7d284b0175", "key but no value"),
    ("4e2e00", "1 bytes after STOP"),
    ("8c01ff2e", "not valid UTF-8"),
    ("63616263", "truncated GLOBAL"),
    ("ff", "unknown opcode 0xff"),
    ("522e", "REDUCE"),
    ("4e4e932e", "STACK_GLOBAL without a module and a name"),
    ("800249303030300a2e", "INT (protocol 0)"),
    // python3 -c "import pickle; print(pickle.dumps({1: 2}, protocol=5).hex())"
    ("80059508000000000000007d944b014b02732e", "dict with a int key"),
    // python3 -c "import pickle; print(pickle.dumps(b'abc', protocol=5).hex())"
    ("80059507000000000000004303616263942e", "bytes value (3 bytes)"),
    // python3 -c "import pickle; print(pickle.dumps(bytearray(b'x'), protocol=5).hex())"
    ("8005950c0000000000000096010000000000000078942e", "bytearray value (1 bytes)"),
    // python3 -c "import pickle, datetime; print(pickle.dumps({'when': datetime.datetime(2024, 1, 2, 3, 4, 5)},
    //     protocol=5).hex())"
    (
        "80059534000000000000007d948c047768656e948c086461746574696d65948c086461746574696d65949394430a07e80102"
            + "0304050000009485945294732e", "holds a datetime.datetime"
    ),
    // python3 -c "import pickle, datetime; print(pickle.dumps(datetime.datetime(2024, 1, 2, 3, 4, 5), protocol=2).hex())"
    (
        "8002636461746574696d650a6461746574696d650a7100635f636f646563730a656e636f64650a7101580b00000007c3a8"
            + "0102030405000000710258060000006c6174696e3171038671045271058571065271072e", "holds a datetime.datetime"
    ),
    // python3 -c "import pickle, collections; print(pickle.dumps(collections.OrderedDict(), protocol=5).hex())"
    (
        "80059522000000000000008c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952942e",
        "holds a collections.OrderedDict"
    ),
    // python3 -c "import pickle; print(pickle.dumps(b'x', protocol=2).hex())"  (protocol 2 has no bytes opcode)
    (
        "8002635f636f646563730a656e636f64650a7100580100000078710158060000006c6174696e3171028671035271042e",
        "_codecs.encode"
    ),
    // python3 -c "import pickle; print(pickle.dumps({1}, protocol=2).hex())"  (protocol 2 has no set opcode)
    ("8002635f5f6275696c74696e5f5f0a7365740a71005d71014b01618571025271032e", "holds a __builtin__.set"),
    // python3 -c "import pickle; l = []; l.append(l); print(pickle.dumps(l, protocol=5).hex())"
    ("80059506000000000000005d946800612e", "a list that contains itself"),
    // python3 -c "import pickle; a = ['a' * 10]
    //     for _ in range(30): a = [a, a]
    //     print(pickle.dumps(a, protocol=5).hex())"   (2^30 lists from 200 bytes)
    (
        "800595c5000000000000005d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94"
            + "285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d94285d948c"
            + "0a616161616161616161619461681e65681d65681c65681b65681a65681965681865681765681665681565681465681365681265"
            + "681165681065680f65680e65680d65680c65680b65680a656809656808656807656806656805656804656803656802656801652e",
        "expands to more than 16 times"
    ),
]

@Suite struct PickleTests {
    @Test(arguments: fixtures)
    func readsWhatPythonWrites(_ fixture: Fixture) throws {
        #expect(try Pickle.decode(bytes(fixture.hex)) == fixture.value)
    }

    @Test(arguments: fixtures.filter(\.writtenByPython))
    func writesWhatPythonWrites(_ fixture: Fixture) throws {
        #expect(Pickle.encode(fixture.value) == bytes(fixture.hex))
    }

    /// The job tuple is `(func_name, None, args, kwargs)` with `args` a tuple: the bytes of the wire-format
    /// reference, §3.2.
    @Test func writesTheJobTupleAsPythonRQDoes() throws {
        let written = Pickle.encodeJob(functionName: "mymod.myfunc", args: [1, "a"], kwargs: ["k": 2])
        #expect(
            written
                == bytes(
                    "8005952500000000000000288c0c6d796d6f642e6d7966756e63944e4b018c01619486947d948c016b944b027374942e"))
        #expect(try Pickle.decode(written) == ["mymod.myfunc", nil, [1, "a"], ["k": 2]])
        #expect(Pickle.encodeJob(functionName: "f", args: [], kwargs: [:]).contains(Pickle.Opcode.emptyTuple))
    }

    @Test func negativeZeroKeepsItsSign() throws {
        // python3 -c "import pickle; print(pickle.dumps(-0.0, protocol=5).hex())"
        let value = try Pickle.decode(bytes("8005950a000000000000004780000000000000002e"))
        #expect(value.doubleValue?.sign == .minus)
    }

    /// Memo references share one object: `x = [1]; [x, x]` and `s = 'abcabc'; (s, s)`, and the 4-byte forms.
    @Test func followsMemoReferences() throws {
        // python3 -c "import pickle; x = [1]; print(pickle.dumps([x, x], protocol=2).hex())"
        #expect(try Pickle.decode(bytes("80025d7100285d71014b01616801652e")) == [[1], [1]])
        // python3 -c "import pickle; x = [1]; print(pickle.dumps([x, x], protocol=5).hex())"
        #expect(try Pickle.decode(bytes("8005950c000000000000005d94285d944b01616801652e")) == [[1], [1]])
        // python3 -c "import pickle; s = 'abc' * 2; print(pickle.dumps((s, s), protocol=4).hex())"
        #expect(
            try Pickle.decode(bytes("8004950e000000000000008c0661626361626394680086942e")) == ["abcabc", "abcabc"])
        // BININT1 7, LONG_BINPUT 300, LONG_BINGET 300, TUPLE2: python3 -c "import pickle;
        //     print(pickle.loads(bytes.fromhex('80024b07722c0100006a2c010000862e')))" prints (7, 7).
        #expect(try Pickle.decode(bytes("80024b07722c0100006a2c010000862e")) == [7, 7])
        // A list filled after it was shared: every reference sees the items. EMPTY_LIST MEMOIZE, EMPTY_LIST MEMOIZE,
        // APPEND, BINGET 1, BININT1 1, APPEND, BININT1 2, APPEND, POP, BINGET 1, APPEND, STOP: python3 -c "import
        //     pickle; print(pickle.loads(bytes.fromhex('80055d945d946168014b01614b0261306801612e')))" prints
        //     [[1, 2], [1, 2]].
        #expect(try Pickle.decode(bytes("80055d945d946168014b01614b0261306801612e")) == [[1, 2], [1, 2]])
    }

    @Test(arguments: hostile.indices)
    func refusesHostileInput(_ index: Int) {
        let (hex, message) = hostile[index]
        do {
            let value = try Pickle.decode(bytes(hex))
            Issue.record("\(hex) read as \(value)")
        } catch {
            #expect(error.description.contains(message), "\(hex): \(error)")
        }
    }

    /// Nesting 200,000 levels deep (one byte per level) is refused, and tearing the nest down must not recurse
    /// once per level (that would overflow the stack).
    @Test func refusesDeepNestingWithoutOverflowingTheStack() {
        let depth = 200_000
        let nest: [UInt8] = [0x80, 0x05, 0x29] + [UInt8](repeating: 0x85, count: depth)
        for tail: [UInt8] in [[0x2E], [0x61, 0x2E], [0x94, 0x5D, 0x94, 0x68, 0x00, 0x61, 0x2E]] {
            #expect(throws: PickleError.self) { try Pickle.decode(nest + tail) }
        }
        // Popped and dropped, the nest is not part of the value: POP, NONE, STOP reads None.
        #expect((try? Pickle.decode(nest + [0x30, 0x4E, 0x2E])) == .null)
        // 200,000 lists, each appended to the one below it.
        let lists: [UInt8] =
            [0x80, 0x05] + [UInt8](repeating: 0x5D, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2E]
        #expect(throws: PickleError.self) { try Pickle.decode(lists) }
    }

    /// Every prefix of every fixture, and every fixture with one byte changed, is read or refused — never a crash.
    @Test func survivesTruncationAndCorruption() {
        var generator = SplitMix(seed: 42)
        var refused = 0
        for fixture in fixtures {
            let original = bytes(fixture.hex)
            for length in 0..<original.count {
                if (try? Pickle.decode(Array(original.prefix(length)))) == nil { refused += 1 }
            }
            for _ in 0..<200 {
                var corrupted = original
                corrupted[Int(generator.next() % UInt64(corrupted.count))] = UInt8(truncatingIfNeeded: generator.next())
                _ = try? Pickle.decode(corrupted)
            }
        }
        #expect(refused == fixtures.reduce(0) { $0 + bytes($1.hex).count }, "every strict prefix lacks its STOP")
    }

    @Test(arguments: [
        "0", "1", "-1", "127", "128", "-128", "-129", "255", "256", "-256", "-32768", "-32769", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "18446744073709551615",
        "340282366920938463463374607431768211456", "-340282366920938463463374607431768211456",
    ])
    func convertsIntegersBothWays(_ digits: String) {
        let encoded = Pickle.twosComplement(decimal: digits)
        #expect(Pickle.decimal(twosComplement: encoded[...]) == digits)
        if let value = Int(digits) { #expect(Pickle.twosComplement(value) == encoded) }
    }

    /// Python's `encode_long` (`int.to_bytes(..., 'little', signed=True)`, shortest): from
    /// `python3 -c "import pickle; print(pickle.encode_long(N).hex())"`.
    @Test func encodesIntegersAsPythonDoes() {
        #expect(Pickle.twosComplement(decimal: "255") == bytes("ff00"))
        #expect(Pickle.twosComplement(decimal: "-128") == bytes("80"))
        #expect(Pickle.twosComplement(decimal: "-129") == bytes("7fff"))
        #expect(Pickle.twosComplement(decimal: "-32768") == bytes("0080"))
        #expect(Pickle.twosComplement(decimal: "18446744073709551616") == bytes("000000000000000001"))
        #expect(Pickle.twosComplement(decimal: "0") == [])
    }
}

/// A small deterministic generator for the corruption test.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The `data`, `meta` and result fields of jobs in Python RQ's default serializer.
@Suite struct PickledJobPayloadTests {
    /// `zlib.compress(pickle.dumps(('examples.echo', None, (2**70, (1, 'a')), {'k': 'é'}), protocol=5))`, as Python
    /// RQ stores it, and the same call read from plain (uncompressed) pickle, which Python RQ reads too.
    @Test func readsPickledDataCompressedOrNot() throws {
        // python3 -c "import pickle; print(pickle.dumps(('examples.echo', None, (2**70, (1, 'a')), {'k': 'é'}),
        //     protocol=5).hex())"
        let pickled = bytes(
            "8005953600000000000000288c0d6578616d706c65732e6563686f944e8a09000000000000000040"
                + "4b018c016194869486947d948c016b948c02c3a9947374942e")
        for stored in [pickled, Zlib.compress(pickled)] {
            let payload = try JobPayload(decoding: stored, jobID: "j")
            #expect(payload.serializer == .pickle)
            #expect(payload.functionName == "examples.echo")
            #expect(payload.args == [.bigInt("1180591620717411303424"), [1, "a"]])
            #expect(payload.kwargs == ["k": "é"])
        }
    }

    @Test func writesPickleForPickleJobsAndReadsItBack() throws {
        let payload = JobPayload(
            functionName: "f", args: [.bigInt("-18446744073709551617"), ["x": [1.5]]], kwargs: ["k": nil],
            serializer: .pickle)
        let stored = payload.encoded()
        #expect(stored.first == Pickle.Opcode.proto, "short, so not compressed")
        #expect(try JobPayload(decoding: stored, jobID: "j") == payload)
        let long = JobPayload(
            functionName: "f", args: [.string(String(repeating: "a", count: 200))], kwargs: [:], serializer: .pickle)
        #expect(long.encoded().prefix(2) == [0x78, 0x9C])
        #expect(try JobPayload(decoding: long.encoded(), jobID: "j") == long)
    }

    @Test func aDatetimeInDataNamesTheJobFieldAndType() {
        // python3 -c "import pickle, datetime; print(pickle.dumps(('f', None, (datetime.date(2024, 1, 2),), {}),
        //     protocol=5).hex())"
        let pickled = bytes(
            "8005952c00000000000000288c0166944e8c086461746574696d65948c0464617465949394430407"
                + "e80102948594529485947d9474942e")
        do {
            _ = try JobPayload(decoding: Zlib.compress(pickled), jobID: "job-9")
            Issue.record("a datetime.date was read")
        } catch {
            #expect(error.field == "data")
            #expect(error.message.contains("job-9") && error.message.contains("datetime.date"), "\(error)")
        }
    }

    @Test func serializersGoByPythonRQsNames() {
        for name in ["json", "JSONSerializer", "rq.serializers.JSONSerializer"] {
            #expect(JobSerializer(name: name) == .json)
        }
        for name in ["pickle", "DefaultSerializer", "PickleSerializer", "rq.serializers.DefaultSerializer"] {
            #expect(JobSerializer(name: name) == .pickle)
        }
        #expect(JobSerializer(name: "myapp.MySerializer") == nil)
        #expect(JobSerializer.pickle.description == "pickle")
        #expect(JobSerializer.detect(JobSerializer.pickle.serialize(["a": 1])) == .pickle)
        #expect(JobSerializer.detect(JobSerializer.json.serialize(["a": 1])) == .json)
    }
}
