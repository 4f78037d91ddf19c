import FoundationEssentials
import Glibc

/// Where and how to connect to Redis.
public struct RedisConfiguration: Sendable, Hashable {
    /// The address of a Redis server.
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// A TCP address.
        case tcp(host: String, port: Int)
        /// A Unix domain socket path.
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): return path
            }
        }
    }

    /// The server's address. Defaults to `127.0.0.1:6379`.
    public var endpoint: Endpoint = .tcp(host: "127.0.0.1", port: 6379)
    /// The database number selected after connecting. Defaults to 0.
    public var database: Int = 0
    /// The ACL user name for `AUTH`, if any.
    public var username: String?
    /// The password for `AUTH`, if any.
    public var password: String?
    /// The name given with `CLIENT SETNAME`, if any.
    public var clientName: String?
    /// TLS settings; nil for a plain connection. `rediss://` URLs set them.
    public var tls: TLSConfiguration?
    /// Sentinels to ask for the master's address; nil to connect to ``endpoint`` directly. `redis+sentinel://`
    /// URLs set them (and ``endpoint`` to the first sentinel).
    public var sentinel: SentinelConfiguration?
    /// How long one connection attempt may take, including, when a connection that was up is re-established,
    /// its retries with backoff (a client's first connection is tried once). Defaults to 5 seconds.
    public var connectTimeout: Duration = .seconds(5)
    /// How long a reply to a non-blocking command may take. Defaults to 30 seconds.
    public var commandTimeout: Duration = .seconds(30)

    /// A configuration for `127.0.0.1:6379`, database 0.
    public init() {}

    /// A configuration for the given address and database.
    ///
    /// - Parameters:
    ///   - endpoint: the server's address.
    ///   - database: the database number to `SELECT`. Defaults to 0.
    ///   - username: the ACL user to authenticate as; nil for the `default` user.
    ///   - password: the password to authenticate with; nil for none.
    public init(endpoint: Endpoint, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.endpoint = endpoint
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses a Redis URL: `redis://[[user]:password@]host[:port][/db]`, `rediss://…` (TLS),
    /// `redis+sentinel://[[user]:password@]host:port[,host:port…]/MASTER_NAME[/db]` (Sentinel; the password is the
    /// master's, `sentinel_password=` and `sentinel_username=` in the query the sentinels'; `ssl=true` for TLS to
    /// the master, `sentinel_ssl=true` to the sentinels, both with the TLS parameters below) or
    /// `unix:///path/to.sock[?db=N&password=P]`.
    ///
    /// A `rediss://` URL takes redis-py's TLS query parameters: `ssl_ca_certs` (a PEM file of the CAs to trust;
    /// default: the system's), `ssl_certfile` and `ssl_keyfile` (a client certificate, for servers that require
    /// one), `ssl_cert_reqs` (`none`, `optional` or `required`, the default) and `ssl_check_hostname` (`true` by
    /// default, as in redis-py; ignored when `ssl_cert_reqs=none`):
    /// `rediss://:secret@redis.example.com:6380/0?ssl_ca_certs=/etc/ssl/redis-ca.pem`. Any URL takes redis-py's
    /// `socket_timeout` (``commandTimeout``) and `socket_connect_timeout` (``connectTimeout``), in seconds.
    ///
    /// - Parameter url: the URL to parse.
    /// - Throws: ``RedisError`` with code ``RedisError/Code/invalidURL`` naming the part that is wrong.
    public init(url: String) throws(RedisError) {
        func bad(_ why: String) -> RedisError {
            RedisError(.invalidURL, "invalid Redis URL '\(url)': \(why)")
        }
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw bad("missing scheme; expected redis://host:port/db or unix:///path")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: [String: String] = [:]
        if let questionMark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: questionMark)...].split(separator: "&") {
                // Keeping empty parts, a pair that is only `=` (`?=`) has a name, "", rather than no parts at all.
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = parts.count > 1 ? String(parts[1]) : ""
                query[String(parts[0])] = Self.percentDecoded(value) ?? value
            }
            rest = rest[..<questionMark]
        }
        switch scheme {
        case "redis", "rediss", "redis+sentinel":
            var hostPart = rest
            var path: Substring = ""
            if let slash = rest.firstIndex(of: "/") {
                hostPart = rest[..<slash]
                path = rest[rest.index(after: slash)...]
            }
            if let at = hostPart.lastIndex(of: "@") {
                let userInfo = hostPart[..<at]
                hostPart = hostPart[hostPart.index(after: at)...]
                if let colon = userInfo.firstIndex(of: ":") {
                    let user = String(userInfo[..<colon])
                    let pass = String(userInfo[userInfo.index(after: colon)...])
                    username = user.isEmpty ? nil : (Self.percentDecoded(user) ?? user)
                    password = Self.percentDecoded(pass) ?? pass
                } else if !userInfo.isEmpty {
                    // Like redis-py: a lone user-info part is the password.
                    password = Self.percentDecoded(String(userInfo)) ?? String(userInfo)
                }
            }
            if scheme == "redis+sentinel" {
                // redis+sentinel://[user:pass@]host:port[,host:port…]/MASTER_NAME[/DB]
                var sentinels: [Endpoint] = []
                for address in hostPart.split(separator: ",") {
                    sentinels.append(try Self.tcpEndpoint(address, defaultPort: 26379, bad))
                }
                guard !sentinels.isEmpty else { throw bad("no sentinel addresses") }
                let parts = path.split(separator: "/", omittingEmptySubsequences: false)
                guard let name = parts.first, !name.isEmpty else {
                    throw bad("missing master name, as in redis+sentinel://host:26379/mymaster/0")
                }
                guard parts.count <= 2 else { throw bad("invalid path '\(path)'") }
                if parts.count == 2, !parts[1].isEmpty {
                    guard let db = Int(parts[1]), db >= 0 else { throw bad("invalid database '\(parts[1])'") }
                    database = db
                }
                endpoint = sentinels[0]
                sentinel = SentinelConfiguration(
                    sentinels: sentinels, masterName: Self.percentDecoded(String(name)) ?? String(name),
                    username: query["sentinel_username"], password: query["sentinel_password"])
            } else {
                endpoint = try Self.tcpEndpoint(hostPart, defaultPort: 6379, bad)
                if !path.isEmpty {
                    guard let db = Int(path), db >= 0 else { throw bad("invalid database '\(path)'") }
                    database = db
                }
            }
        case "unix":
            guard rest.hasPrefix("/") else { throw bad("unix socket path must be absolute, as in unix:///path.sock") }
            endpoint = .unix(path: Self.percentDecoded(String(rest)) ?? String(rest))
        default:
            throw bad("unknown scheme '\(scheme)'; expected redis://, rediss://, redis+sentinel:// or unix://")
        }
        func flag(_ name: String) throws(RedisError) -> Bool? {
            guard let text = query[name] else { return nil }
            switch text.lowercased() {
            case "true", "1", "yes", "y", "t": return true
            case "false", "0", "no", "n", "f": return false
            default: throw bad("\(name) must be true or false, not '\(text)'")
            }
        }
        let sslFlag = try flag("ssl")
        let sentinelSSLFlag = try flag("sentinel_ssl")
        let masterTLS = scheme == "rediss" || (scheme == "redis+sentinel" && sslFlag == true)
        let sentinelTLS = scheme == "redis+sentinel" && sentinelSSLFlag == true
        if masterTLS || sentinelTLS {
            var tls = TLSConfiguration()
            tls.caCertificates = query["ssl_ca_certs"]
            tls.certificate = query["ssl_certfile"]
            tls.privateKey = query["ssl_keyfile"]
            if let text = query["ssl_cert_reqs"] {
                guard let requirement = TLSConfiguration.CertificateRequirement(rawValue: text.lowercased()) else {
                    throw bad("ssl_cert_reqs must be none, optional or required, not '\(text)'")
                }
                tls.certificateRequirement = requirement
            }
            if let check = try flag("ssl_check_hostname") { tls.checkHostname = check }
            if tls.privateKey != nil, tls.certificate == nil {
                throw bad("ssl_keyfile needs ssl_certfile")
            }
            if masterTLS { self.tls = tls }
            if sentinelTLS { sentinel?.tls = tls }
        }
        if let db = query["db"] {
            guard let value = Int(db), value >= 0 else { throw bad("invalid database '\(db)'") }
            database = value
        }
        if let pass = query["password"] { password = pass }
        if let user = query["username"] { username = user }
        // redis-py's timeouts, in seconds.
        for (name, keyPath) in [
            ("socket_timeout", \RedisConfiguration.commandTimeout),
            ("socket_connect_timeout", \RedisConfiguration.connectTimeout),
        ] {
            guard let text = query[name] else { continue }
            guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                throw bad("\(name) must be a positive number of seconds, not '\(text)'")
            }
            self[keyPath: keyPath] = .milliseconds(Int64((seconds * 1000).rounded(.up)))
        }
    }

    /// `host[:port]` or `[v6]:port`.
    private static func tcpEndpoint(
        _ text: Substring, defaultPort: Int, _ bad: (String) -> RedisError
    ) throws(RedisError) -> Endpoint {
        var host = "127.0.0.1"
        var port = defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("unclosed '[' in host") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") {
                let portText = after.dropFirst()
                guard let value = Int(portText), (1...65535).contains(value) else {
                    throw bad("invalid port '\(portText)'")
                }
                port = value
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw bad("invalid host '\(text)'") }
            if !parts[0].isEmpty { host = String(parts[0]) }
            if parts.count == 2 {
                guard let value = Int(parts[1]), (1...65535).contains(value) else {
                    throw bad("invalid port '\(parts[1])'")
                }
                port = value
            }
        }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || ".-_:".contains($0) }) else {
            throw bad("invalid host '\(host)'")
        }
        return .tcp(host: host, port: port)
    }

    /// `AUTH` with the ACL user and password, if a password is set.
    var authenticationCommands: [RedisCommand] {
        guard let password else { return [] }
        return [username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password)]
    }

    private static func percentDecoded(_ text: String) -> String? {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// TLS settings for a Redis connection, as redis-py names them (`ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`,
/// `ssl_cert_reqs`, `ssl_check_hostname`); set by `rediss://` URLs and `REDIS_SSL_*` settings.
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "rediss://redis.example.com:6380/0")
/// configuration.tls?.caCertificates = "/etc/ssl/redis-ca.pem"
/// ```
public struct TLSConfiguration: Sendable, Hashable {
    /// Whether the server's certificate is checked (redis-py's `ssl_cert_reqs`).
    public enum CertificateRequirement: String, Sendable, Hashable {
        /// Not checked: the connection is encrypted but the server is not authenticated.
        case none
        /// Checked, as `required` (a client that is given a certificate checks it, as Python's `ssl` does).
        case optional
        /// Checked against the trusted CAs; the connection fails if it does not verify. The default.
        case required
    }

    /// A PEM file of the CA certificates to trust; nil trusts the system's store.
    public var caCertificates: String?
    /// A PEM client certificate, for servers that require one (`tls-auth-clients yes`).
    public var certificate: String?
    /// The PEM private key of ``certificate``; nil if the certificate file holds it too.
    public var privateKey: String?
    /// Whether and how the server's certificate is checked. Defaults to `required`.
    public var certificateRequirement: CertificateRequirement = .required
    /// Whether the server's certificate must name the host connected to. Defaults to true, as in redis-py; not
    /// checked when ``certificateRequirement`` is `none`.
    public var checkHostname = true

    /// TLS that checks the server against the system's CAs (or `caCertificates`) and its name.
    ///
    /// - Parameters:
    ///   - caCertificates: a PEM file of the CA certificates to trust; nil trusts the system's store.
    ///   - certificate: a PEM client certificate file, for servers that require one; nil for none.
    ///   - privateKey: the PEM private key file of `certificate`; nil if the certificate file holds it too.
    ///   - certificateRequirement: whether and how the server's certificate is checked. Defaults to `required`.
    ///   - checkHostname: whether the server's certificate must name the host connected to. Defaults to true.
    public init(
        caCertificates: String? = nil, certificate: String? = nil, privateKey: String? = nil,
        certificateRequirement: CertificateRequirement = .required, checkHostname: Bool = true
    ) {
        self.caCertificates = caCertificates
        self.certificate = certificate
        self.privateKey = privateKey
        self.certificateRequirement = certificateRequirement
        self.checkHostname = checkHostname
    }
}

/// Redis Sentinel: the sentinels to ask which server is the master of `masterName` — at every connect, so after a
/// failover connections go to the promoted replica.
public struct SentinelConfiguration: Sendable, Hashable {
    /// The sentinels' addresses, tried in order.
    public var sentinels: [RedisConfiguration.Endpoint]
    /// The name the sentinels monitor the master under (`sentinel monitor NAME …`).
    public var masterName: String
    /// The ACL user of the sentinels themselves, if they require one; the master's is the configuration's
    /// ``RedisConfiguration/username``.
    public var username: String?
    /// The password of the sentinels themselves, if they require one; the master's is the configuration's
    /// ``RedisConfiguration/password``.
    public var password: String?
    /// TLS to the sentinels themselves, if they listen on a TLS port (RQ's `SENTINEL_KWARGS` `ssl`; the URL's
    /// `sentinel_ssl=true`); nil for plain connections. TLS to the master is the configuration's ``RedisConfiguration/tls``.
    public var tls: TLSConfiguration?

    /// Sentinels to ask for the master of `masterName`.
    ///
    /// - Parameters:
    ///   - sentinels: the sentinels' addresses, tried in order.
    ///   - masterName: the name the sentinels monitor the master under.
    ///   - username: the sentinels' ACL user, if they require one.
    ///   - password: the sentinels' password, if they require one.
    ///   - tls: TLS to the sentinels, if they listen on a TLS port.
    public init(
        sentinels: [RedisConfiguration.Endpoint], masterName: String, username: String? = nil, password: String? = nil,
        tls: TLSConfiguration? = nil
    ) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.username = username
        self.password = password
        self.tls = tls
    }
}
