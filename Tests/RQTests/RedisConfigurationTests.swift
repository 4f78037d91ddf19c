import Testing

@testable import RQ

@Suite struct RedisConfigurationTests {
    @Test func parsesTCPURLs() throws {
        let config = try RedisConfiguration(url: "redis://alice:s%40cret@example.com:6380/3")
        #expect(config.endpoint == .tcp(host: "example.com", port: 6380))
        #expect(config.database == 3)
        #expect(config.username == "alice")
        #expect(config.password == "s@cret")
        let passwordOnly = try RedisConfiguration(url: "redis://:pw@localhost")
        #expect(passwordOnly.username == nil && passwordOnly.password == "pw")
        #expect(passwordOnly.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(try RedisConfiguration(url: "redis://[::1]:7000/1").endpoint == .tcp(host: "::1", port: 7000))
    }

    @Test func parsesUnixURLs() throws {
        let config = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=2&password=x")
        #expect(config.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(config.database == 2)
        #expect(config.password == "x")
    }

    @Test func parsesTLSURLsWithRedisPyParameters() throws {
        let plain = try RedisConfiguration(url: "redis://localhost")
        #expect(plain.tls == nil)
        let defaults = try RedisConfiguration(url: "rediss://:pw@redis.example.com:6380/2")
        #expect(defaults.endpoint == .tcp(host: "redis.example.com", port: 6380))
        #expect(defaults.database == 2 && defaults.password == "pw")
        #expect(defaults.tls == TLSConfiguration())
        #expect(defaults.tls?.certificateRequirement == .required && defaults.tls?.checkHostname == true)
        let full = try RedisConfiguration(
            url: "rediss://h:1/0?ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k%20ey.pem&ssl_cert_reqs=NONE"
                + "&ssl_check_hostname=false")
        #expect(
            full.tls
                == TLSConfiguration(
                    caCertificates: "/ca.pem", certificate: "/c.pem", privateKey: "/k ey.pem",
                    certificateRequirement: .none, checkHostname: false))
    }

    @Test func parsesSentinelURLs() throws {
        let config = try RedisConfiguration(
            url: "redis+sentinel://:secret@s1:26379,s2,[::1]:26380/mymaster/3?sentinel_password=sp")
        #expect(config.database == 3 && config.password == "secret")
        #expect(
            config.sentinel
                == SentinelConfiguration(
                    sentinels: [
                        .tcp(host: "s1", port: 26379), .tcp(host: "s2", port: 26379), .tcp(host: "::1", port: 26380),
                    ],
                    masterName: "mymaster", password: "sp"))
        #expect(try RedisConfiguration(url: "redis+sentinel://s1/m").database == 0)
    }

    @Test func sentinelURLsSayWhereTLSGoesAndTakeRedisPyTimeouts() throws {
        let both = try RedisConfiguration(
            url: "redis+sentinel://s1/m?ssl=true&sentinel_ssl=true&ssl_ca_certs=/ca.pem&socket_timeout=2.5")
        #expect(both.tls?.caCertificates == "/ca.pem")
        #expect(both.sentinel?.tls?.caCertificates == "/ca.pem")
        #expect(both.commandTimeout == .milliseconds(2500))
        let sentinelsOnly = try RedisConfiguration(url: "redis+sentinel://s1/m?sentinel_ssl=1&ssl_ca_certs=/ca.pem")
        #expect(sentinelsOnly.tls == nil)
        #expect(sentinelsOnly.sentinel?.tls?.caCertificates == "/ca.pem")
        let plain = try RedisConfiguration(url: "redis+sentinel://s1/m?socket_connect_timeout=0.2")
        #expect(plain.tls == nil && plain.sentinel?.tls == nil)
        #expect(plain.connectTimeout == .milliseconds(200))
    }

    @Test(arguments: [
        ("localhost:6379", "missing scheme"),
        ("http://localhost", "unknown scheme 'http'"),
        ("redis://localhost:abc/0", "invalid port 'abc'"),
        ("redis://localhost:99999", "invalid port '99999'"),
        ("redis://localhost:6379/x", "invalid database 'x'"),
        ("redis://bad host/0", "invalid host 'bad host'"),
        ("unix://relative.sock", "must be absolute"),
        ("rediss://localhost?ssl_cert_reqs=maybe", "ssl_cert_reqs must be none, optional or required, not 'maybe'"),
        ("rediss://localhost?ssl_check_hostname=perhaps", "ssl_check_hostname must be true or false"),
        ("rediss://localhost?ssl_keyfile=/k.pem", "ssl_keyfile needs ssl_certfile"),
        ("redis+sentinel://s1:26379", "missing master name"),
        ("redis+sentinel://s1:x/m", "invalid port 'x'"),
        ("redis+sentinel://s1/m/x", "invalid database 'x'"),
        ("redis+sentinel://s1/m?sentinel_ssl=maybe", "sentinel_ssl must be true or false, not 'maybe'"),
        ("redis://localhost?socket_timeout=-1", "socket_timeout must be a positive number of seconds"),
    ])
    func badURLsNameTheBadPart(url: String, expected: String) {
        do {
            _ = try RedisConfiguration(url: url)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.code == .invalidURL)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    /// Found by `fuzz-redis-url` (scripts/fuzz.sh): a query pair that is only `=` crashed the parser (an index out of
    /// range) instead of being read as an empty name.
    @Test func queryPairOfOnlyEqualsSigns() throws {
        let crash: [UInt8] = [
            0x1B, 0x93, 0x65, 0x64, 0x69, 0x73, 0x73, 0x3A, 0x2F, 0x2F, 0x68, 0x3A, 0x31, 0x2F, 0x30, 0x3F, 0x70, 0x65,
            0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x72, 0x74, 0x5F, 0x72, 0x70, 0x65, 0x6D, 0x26, 0x3D, 0x3D,
            0x3D, 0x3D, 0x3D, 0x3D, 0x3D, 0x3D, 0x3D, 0x3D, 0x3D, 0x3D, 0x3D, 0x3D,
        ]
        #expect(throws: RedisError.self) { try RedisConfiguration(url: String(decoding: crash, as: UTF8.self)) }
        let config = try RedisConfiguration(url: "redis://h:1/0?=&==&socket_timeout=2")
        #expect(config.endpoint == .tcp(host: "h", port: 1))
        #expect(config.commandTimeout == .seconds(2))
    }
}
