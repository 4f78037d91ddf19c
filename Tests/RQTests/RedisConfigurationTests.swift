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

    @Test(arguments: [
        ("localhost:6379", "missing scheme"),
        ("http://localhost", "unknown scheme 'http'"),
        ("redis://localhost:abc/0", "invalid port 'abc'"),
        ("redis://localhost:99999", "invalid port '99999'"),
        ("redis://localhost:6379/x", "invalid database 'x'"),
        ("redis://bad host/0", "invalid host 'bad host'"),
        ("unix://relative.sock", "must be absolute"),
        ("rediss://localhost", "TLS"),
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
}
