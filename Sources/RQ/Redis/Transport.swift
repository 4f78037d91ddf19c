import Glibc

/// Opens connections to one Redis server: the TCP (or Unix socket) connect through hiredis, the TLS handshake
/// when configured, and the connection handshake — AUTH, SELECT, CLIENT SETNAME and, over TLS, a PING, so that a
/// server that refuses the client's certificate after the TLS handshake (TLS 1.3 servers do) is found out while
/// connecting. Used on a connection's own thread; it blocks that thread, never the cooperative pool.
final class TransportOpener: @unchecked Sendable {
    let configuration: RedisConfiguration
    /// Built on first use (it reads the CA and certificate files), then shared by this opener's connections.
    private var tlsContext: TLSContext?
    /// The same for connections to the sentinels.
    private var sentinelTLSContext: TLSContext?

    init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    /// A connected, handshaken connection: hiredis' context (its reply parser, and the socket it owns) and the
    /// transport to read and write it through. The socket's send and receive timeouts are the command timeout.
    ///
    /// - Throws: ``RedisError``: `connectionFailed` (unreachable, or a TLS problem, saying which), `timeout`,
    ///   `server` (a refused AUTH or SELECT).
    func open(timeout: Duration) throws(RedisError) -> (HiredisContext, Transport) {
        let deadline = ContinuousClock.now + timeout
        var endpoint = configuration.endpoint
        if let sentinel = configuration.sentinel { endpoint = try master(of: sentinel, deadline: deadline) }
        let context = try HiredisContext.connect(to: endpoint, timeout: ContinuousClock.now.duration(to: deadline))
        context.setTimeout(configuration.commandTimeout)
        var transport = Transport.plain(context.fileDescriptor)
        if let tls = configuration.tls {
            if tlsContext == nil { tlsContext = try TLSContext(tls, endpoint: configuration.endpoint) }
            transport = .tls(
                try tlsContext!.handshake(socket: context.fileDescriptor, endpoint: endpoint, deadline: deadline))
        }
        var commands = configuration.authenticationCommands
        if configuration.database != 0 { commands.append(RedisCommand("SELECT", configuration.database)) }
        if let name = configuration.clientName { commands.append(RedisCommand("CLIENT", "SETNAME", name)) }
        if configuration.tls != nil { commands.append(RedisCommand("PING")) }
        // Behind Sentinel, the server named master may not know it yet (or any more): check its role. (ROLE is an
        // @admin command; a user without it skips the check and relies on READONLY replies instead.)
        if configuration.sentinel != nil { commands.append(RedisCommand("ROLE")) }
        let replies = try exchange(
            commands, context: context, transport: transport, deadline: .now + configuration.commandTimeout)
        for (command, reply) in zip(commands, replies) where command.name != "ROLE" {
            if case .error(let message) = reply {
                throw RedisError(.server, "Redis at \(endpoint) refused \(command.name): \(message)")
            }
        }
        if let sentinel = configuration.sentinel, let role = replies.last?.array?.first?.string, role != "master" {
            throw RedisError(
                .connectionFailed,
                "\(endpoint), named master of '\(sentinel.masterName)' by its sentinels, is a \(role) (a failover is "
                    + "under way)")
        }
        return (context, transport)
    }

    /// The master's address, from the first sentinel that knows it (`SENTINEL get-master-addr-by-name`).
    private func master(of sentinel: SentinelConfiguration, deadline: ContinuousClock.Instant) throws(RedisError)
        -> RedisConfiguration.Endpoint
    {
        var problems: [String] = []
        for address in sentinel.sentinels {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            do throws(RedisError) {
                // Each sentinel gets a share of the time, so one that does not answer leaves time for the others.
                let share = min(remaining, .seconds(1))
                let (context, transport) = try openSentinel(address, sentinel, timeout: share)
                let replies = try exchange(
                    [RedisCommand("SENTINEL", "get-master-addr-by-name", sentinel.masterName)], context: context,
                    transport: transport, deadline: .now + share)
                if case .error(let message) = replies.last {
                    problems.append("\(address): \(message)")
                } else if let parts = replies.last?.array, parts.count == 2, let host = parts[0].string,
                    let port = parts[1].string.flatMap({ Int($0) })
                {
                    return .tcp(host: host, port: port)
                } else {
                    problems.append("\(address): does not know master '\(sentinel.masterName)'")
                }
            } catch {
                problems.append("\(address): \(error.message)")
            }
        }
        throw RedisError(
            .connectionFailed,
            "no sentinel gave the address of master '\(sentinel.masterName)' (\(problems.joined(separator: "; ")))")
    }

    /// A connection to one sentinel — over TLS if the sentinels use it — authenticated if they need it.
    func openSentinel(
        _ address: RedisConfiguration.Endpoint, _ sentinel: SentinelConfiguration, timeout: Duration
    ) throws(RedisError) -> (HiredisContext, Transport) {
        let deadline = ContinuousClock.now + timeout
        let context = try HiredisContext.connect(to: address, timeout: timeout)
        context.setTimeout(configuration.commandTimeout)
        var transport = Transport.plain(context.fileDescriptor)
        if let tls = sentinel.tls {
            if sentinelTLSContext == nil { sentinelTLSContext = try TLSContext(tls, endpoint: address) }
            transport = .tls(
                try sentinelTLSContext!.handshake(socket: context.fileDescriptor, endpoint: address, deadline: deadline)
            )
        }
        if let password = sentinel.password {
            let auth = sentinel.username.map { RedisCommand("AUTH", $0, password) } ?? RedisCommand("AUTH", password)
            if case .error(let message) = try exchange(
                [auth], context: context, transport: transport, deadline: deadline
            )
            .first {
                throw RedisError(.server, "sentinel at \(address) refused AUTH: \(message)")
            }
        }
        return (context, transport)
    }

    /// Writes `commands` and reads as many replies, waiting at most until `deadline`.
    func exchange(
        _ commands: [RedisCommand], context: HiredisContext, transport: Transport, deadline: ContinuousClock.Instant
    ) throws(RedisError) -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        let endpoint = context.endpoint
        func failed(closed: Bool = false) -> RedisError {
            if let reason = transport.tlsError {
                return RedisError(.connectionFailed, "TLS connection to Redis at \(endpoint) failed: \(reason)")
            }
            let reason = closed ? "the server closed the connection" : String(cString: strerror(errno))
            if case .tls = transport {
                // A TLS 1.3 server checks the client's certificate after the client's handshake is done; when it
                // refuses, its alert can be lost to the connection's reset.
                let what =
                    configuration.tls?.certificate == nil
                    ? "if it requires client certificates (tls-auth-clients), give one with ssl_certfile and ssl_keyfile"
                    : "it may have refused the client certificate in ssl_certfile"
                return RedisError(
                    .connectionFailed,
                    "TLS connection to Redis at \(endpoint) failed: \(reason) right after the TLS handshake; \(what)")
            }
            return RedisError(.connectionLost, "connection to Redis at \(endpoint) lost: \(reason)")
        }
        func timedOut() -> RedisError { RedisError(.timeout, "Redis at \(endpoint) did not reply in time") }
        var bytes = commands.flatMap(\.encoded)[...]
        while !bytes.isEmpty {
            let written = transport.send(bytes)
            if written > 0 {
                bytes = bytes.dropFirst(written)
            } else if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                throw failed()
            } else if !TLSStream.wait(
                transport.descriptor, for: Int16(POLLOUT),
                milliseconds: ContinuousClock.now.duration(to: deadline).wholeMilliseconds)
            {
                throw timedOut()
            }
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var replies: [RedisValue] = []
        while replies.count < commands.count {
            let count = transport.receive(into: &buffer, waiting: ContinuousClock.now.duration(to: deadline))
            if count == 0 { throw failed(closed: true) }
            if count < 0 {
                guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { throw failed() }
                if ContinuousClock.now >= deadline { throw timedOut() }
                continue
            }
            try context.feed(buffer, count: count)
            while let reply = try context.nextReply() { replies.append(reply) }
        }
        return replies
    }
}

/// How bytes cross a connection: the socket itself, or a TLS session over it.
enum Transport {
    case plain(Int32)
    case tls(TLSStream)

    var descriptor: Int32 {
        switch self {
        case .plain(let socket): return socket
        case .tls(let stream): return stream.socket
        }
    }

    /// Why the TLS session failed, when it said more than `errno` does.
    var tlsError: String? {
        if case .tls(let stream) = self { return stream.lastError }
        return nil
    }

    /// Writes what the connection takes now, never blocking: the bytes written, or -1 with `errno` set (`EAGAIN`
    /// when it would block).
    func send(_ bytes: ArraySlice<UInt8>) -> Int {
        bytes.withUnsafeBytes { buffer in
            switch self {
            case .plain(let socket):
                while true {
                    let written = Glibc.send(
                        socket, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                    if written < 0 && errno == EINTR { continue }
                    return written
                }
            case .tls(let stream): return stream.write(buffer)
            }
        }
    }

    /// Reads what has arrived: the bytes read, 0 when the server closed the connection, or -1 with `errno` set
    /// (`EAGAIN` when nothing came).
    ///
    /// - Parameter waiting: whether to wait for the first bytes, and how long; nil reads only what is there. A plain
    ///   socket waits in a blocking `recv` (the cheapest wait there is), bounded by its receive timeout, which the
    ///   connection sets to the same duration; a TLS session waits in `poll`.
    func receive(into buffer: inout [UInt8], waiting: Duration?) -> Int {
        buffer.withUnsafeMutableBytes { bytes in
            switch self {
            case .plain(let socket):
                return recv(socket, bytes.baseAddress, bytes.count, waiting == nil ? Int32(MSG_DONTWAIT) : 0)
            case .tls(let stream):
                return stream.read(into: bytes, waitingMilliseconds: waiting?.wholeMilliseconds ?? 0)
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a wait of a fraction of one still waits.
    var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}
