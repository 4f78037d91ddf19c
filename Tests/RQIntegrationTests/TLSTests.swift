import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

/// Certificates made by `openssl` for the TLS tests, once per test process: a CA, a server certificate for
/// 127.0.0.1 and localhost, a client certificate, a server certificate for another name, and a second CA that
/// signed nothing the servers use.
enum TestCertificates {
    static let directory = Once { try await make() }

    static func path(_ name: String) async throws -> String {
        try await directory.value().appendingPathComponent(name).path
    }

    private static func make() async throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("rq-tls"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func file(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func openssl(_ arguments: [String]) async throws {
            let (status, output) = try await runCommand("/usr/bin/openssl", arguments)
            guard status == 0 else {
                throw PythonError.failed(status: status, stderr: "openssl \(arguments): \(output)")
            }
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try await openssl(
                ["req", "-x509"] + key + [
                    "-keyout", file("\(ca).key"), "-out", file("\(ca).crt"), "-days", "2", "-subj",
                    "/CN=swift-rq \(ca)",
                ])
        }
        let leaves = [
            ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
            ("elsewhere", "subjectAltName=DNS:redis.example\nextendedKeyUsage=serverAuth"),
            ("client", "extendedKeyUsage=clientAuth"),
        ]
        for (name, extensions) in leaves {
            try extensions.write(toFile: file("\(name).ext"), atomically: true, encoding: .utf8)
            try await openssl(
                ["req"] + key + ["-keyout", file("\(name).key"), "-out", file("\(name).csr"), "-subj", "/CN=\(name)"])
            try await openssl([
                "x509", "-req", "-in", file("\(name).csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"),
                "-CAcreateserial", "-out", file("\(name).crt"), "-days", "2", "-extfile", file("\(name).ext"),
            ])
        }
        return directory
    }
}

@Suite struct TLSTests {
    private func tlsServer(certificate: String = "server", requireClientCertificates: Bool = false) async throws
        -> RedisServer
    {
        var files = RedisServer.TLSFiles(
            caCertificate: try await TestCertificates.path("ca.crt"),
            serverCertificate: try await TestCertificates.path("\(certificate).crt"),
            serverKey: try await TestCertificates.path("\(certificate).key"),
            requireClientCertificates: requireClientCertificates)
        if requireClientCertificates {
            files.clientCertificate = try await TestCertificates.path("client.crt")
            files.clientKey = try await TestCertificates.path("client.key")
        }
        // A certificate for another name: the server's own clients (its start-up probe) do not check the name.
        files.clientChecksHostname = certificate == "server"
        return try await RedisServer.start(tls: files)
    }

    /// The acceptance check: Python enqueues over `rediss://`, a Swift worker with horses on `rediss://` runs the
    /// jobs, Python reads their results, and `swift-rq info` reads the queue.
    @Test func pythonAndASwiftWorkerShareATLSOnlyRedis() async throws {
        let server = try await tlsServer()
        let redis = try server.makeClient()
        let queue = uniqueName()
        let ids =
            try await Python.run(
                """
                q = Queue('\(queue)', connection=r, serializer=JSONSerializer)
                print(json.dumps([q.enqueue('examples.add', i, 1).id for i in range(5)]))
                """, url: server.url
            ).arrayValue?.compactMap(\.stringValue) ?? []
        #expect(ids.count == 5)
        try await RunningWorker.start(queues: [queue], redis: redis, concurrency: 2, burst: true).task.value
        let results = try await Python.run(
            """
            print(json.dumps([Job.fetch(i, connection=r, serializer=JSONSerializer).return_value() for i in \(ids)]))
            """, url: server.url)
        #expect(results == [1, 2, 3, 4, 5])
        let (status, output) = try await runCommand(rqPath, ["info", "-u", server.url, queue])
        #expect(status == 0, "\(output)")
        #expect(output.contains("\(queue) ") && output.contains("5 finished"), "\(output)")

        // RQ's settings names for TLS, in a settings file.
        let settings = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("tls")).json")
        try """
        {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": \(server.port), "REDIS_SSL": "true",
         "REDIS_SSL_CA_CERTS": "\(try await TestCertificates.path("ca.crt"))"}
        """.write(to: settings, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: settings) }
        let (fileStatus, fileOutput) = try await runCommand(rqPath, ["info", "-c", settings.path, queue])
        #expect(fileStatus == 0 && fileOutput.contains("5 finished"), "\(fileOutput)")
    }

    /// Worker commands arrive over pub/sub, on a TLS connection of their own.
    @Test func pythonsShutdownCommandReachesAWorkerOverTLS() async throws {
        let server = try await tlsServer()
        let redis = try server.makeClient()
        let worker = RunningWorker.start(queues: [uniqueName()], redis: redis, inProcess: true)
        #expect(
            try await eventually {
                try await redis.send("SISMEMBER", "rq:workers", "rq:worker:\(worker.pool.name)").int == 1
            })
        _ = try await Python.run(
            """
            from rq.command import send_shutdown_command
            send_shutdown_command(r, '\(worker.pool.name)')
            print('null')
            """, url: server.url)
        try await worker.task.value
        #expect(try await redis.send("SISMEMBER", "rq:workers", "rq:worker:\(worker.pool.name)").int == 0)
    }

    @Test func mutualTLSNeedsTheClientCertificate() async throws {
        let server = try await tlsServer(requireClientCertificates: true)
        // With the certificate (the server's URL carries it): a job runs in process.
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue(ExampleFunctions.add, 20, 22)
        try await RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true, burst: true).task.value
        #expect(try await job.result(timeout: .seconds(30)) == 42)

        // Without: the error says the server wants one.
        let ca = try await TestCertificates.path("ca.crt")
        let anonymous = try Redis(url: "rediss://127.0.0.1:\(server.port)/0?ssl_ca_certs=\(ca)")
        let error = await #expect(throws: RedisError.self) { try await anonymous.send("PING") }
        // The server's alert says so, or, when the reset that follows it overtakes it, the error says what to check.
        #expect(
            error?.message.contains("requires a client certificate") == true
                || error?.message.contains("give one with ssl_certfile and ssl_keyfile") == true,
            "\(String(describing: error))")
    }

    @Test func anUntrustedCertificateFailsWithinTheConnectTimeoutSayingWhy() async throws {
        let server = try await tlsServer()
        let otherCA = try await TestCertificates.path("other-ca.crt")
        var configuration = try RedisConfiguration(url: "rediss://127.0.0.1:\(server.port)/0?ssl_ca_certs=\(otherCA)")
        configuration.connectTimeout = .seconds(10)
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: RedisError.self) {
            try await Redis(configuration: configuration).send("PING")
        }
        #expect(clock.now - started < .seconds(10))  // within the connect timeout: a failed check, not a hang
        #expect(error?.code == .connectionFailed)
        #expect(
            error?.message.contains("the server's certificate is not signed by a trusted CA") == true,
            "\(String(describing: error))")
        // The command line says the same, in one line.
        let (status, output) = try await runCommand(rqPath, ["info", "-u", configuration.url(otherCA)])
        #expect(status == 1)
        #expect(output.hasPrefix("Error: TLS handshake with Redis at 127.0.0.1:\(server.port) failed"), "\(output)")
    }

    @Test func theHostNameIsCheckedUnlessTurnedOff() async throws {
        let server = try await tlsServer(certificate: "elsewhere")
        let ca = try await TestCertificates.path("ca.crt")
        let checked = try Redis(url: "rediss://127.0.0.1:\(server.port)/0?ssl_ca_certs=\(ca)")
        let error = await #expect(throws: RedisError.self) { try await checked.send("PING") }
        #expect(
            error?.message.contains("the server's certificate does not name 127.0.0.1") == true,
            "\(String(describing: error))")
        let unchecked = try Redis(
            url: "rediss://127.0.0.1:\(server.port)/0?ssl_ca_certs=\(ca)&ssl_check_hostname=false")
        #expect(try await unchecked.send("PING").string == "PONG")
    }

    @Test func aTLSClientOnAPlainPortIsToldSo() async throws {
        let server = try await SharedRedis.server()
        let error = await #expect(throws: RedisError.self) {
            try await Redis(url: "rediss://127.0.0.1:\(server.port)/0").send("PING")
        }
        #expect(error?.message.contains("TLS") == true, "\(String(describing: error))")
    }
}

extension RedisConfiguration {
    /// This configuration's server as a `rediss://` URL trusting `ca`.
    fileprivate func url(_ ca: String) -> String {
        "rediss://\(endpoint)/\(database)?ssl_ca_certs=\(ca)"
    }
}
