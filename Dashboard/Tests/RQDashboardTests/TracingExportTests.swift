import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RQ
import RQTesting
import ServiceLifecycle
import Synchronization
import Testing

/// The example app with OTEL_* variables set: swift-otel's OTLP/HTTP exporter sends its spans to a receiver in this
/// test. In `DashboardTests`, so that it runs one at a time with the other apps and browsers.
extension DashboardTests {
    @Test func anEnqueueAndItsJobAreOneTraceExportedOverOTLP() async throws {
        let receiver = try await OTLPReceiver.start()
        let app = try await RunningApp.start(environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OTEL_SERVICE_NAME": "dashboard-under-test",
            // No batch leaves on a timer while the app runs: its spans reach the receiver in the flush of the
            // graceful shutdown, which the exporter's place in the app's ServiceGroup makes.
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
        ])
        let answer = try await HTTP.send("POST", app.base + "/add?a=2&b=3")
        #expect(answer.status == 200, "\(answer.body)")
        let value = try JSONValue(parsing: answer.body)
        #expect(value["result"] == .int(5))
        let id = try #require(value["job_id"]?.stringValue)
        let traceparent = try await Job.fetch(id: id, redis: app.redis).meta["traceparent"]?.stringValue
        #expect(receiver.spans.isEmpty, "nothing exported before the shutdown")
        try await app.stop()

        func jobSpan(_ name: String) -> ExportedSpan? {
            receiver.spans.first { $0.name == name && $0.attributes["rq.job.id"] == id }
        }
        let exported = try await eventually { jobSpan("publish default") != nil && jobSpan("consume default") != nil }
        #expect(exported, "spans received: \(receiver.spans.map(\.name)); the app's log: \(app.child.log.suffix(2000))")
        let publish = try #require(jobSpan("publish default"))
        let consume = try #require(jobSpan("consume default"))
        // One trace: the request's server span, the producer span under it, the worker's consumer span under that.
        #expect(consume.traceID == publish.traceID)
        #expect(consume.parentSpanID == publish.spanID, "the consumer span's parent is the producer span")
        #expect(publish.kind == ExportedSpan.producer && consume.kind == ExportedSpan.consumer)
        #expect(consume.attributes["rq.job.status"] == "finished")
        let request = try #require(receiver.spans.first { $0.spanID == publish.parentSpanID })
        #expect(request.kind == ExportedSpan.server && request.name == "/add" && request.parentSpanID == nil)
        #expect(request.traceID == publish.traceID)
        // The job carried the producer span's context in its `meta`, as W3C trace context.
        #expect(traceparent == "00-\(publish.traceID)-\(publish.spanID)-01")
        #expect(Set(receiver.spans.map(\.serviceName)) == ["dashboard-under-test"], "OTEL_SERVICE_NAME")
        await receiver.stop()
    }
}

/// A span as the OTLP/JSON export has it, its ids in hex.
struct ExportedSpan {
    let name: String
    let traceID: String
    let spanID: String
    let parentSpanID: String?
    let kind: Int
    /// Its string attributes.
    let attributes: [String: String]
    /// The resource's `service.name`.
    let serviceName: String?

    /// OTLP's `SpanKind` numbers.
    static let server = 2
    static let producer = 4
    static let consumer = 5
}

/// A loopback OTLP/HTTP receiver, as a collector is to the exporter: it takes the `http/json` bodies POSTed to
/// `/v1/traces` and answers an empty `ExportTraceServiceResponse`.
final class OTLPReceiver: Sendable {
    private let received = Mutex<[ExportedSpan]>([])
    private let port = Mutex<Int?>(nil)
    private let group = Mutex<ServiceGroup?>(nil)
    private let running = Mutex<Task<Void, any Error>?>(nil)

    /// Every span received so far.
    var spans: [ExportedSpan] { received.withLock { $0 } }

    /// The base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds `/v1/traces`).
    var endpoint: String { "http://127.0.0.1:\(port.withLock { $0 } ?? 0)" }

    static func start() async throws -> OTLPReceiver {
        let receiver = OTLPReceiver()
        var logger = Logger(label: "otlp-receiver")
        logger.logLevel = .warning
        let router = Router()
        router.post("v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let spans = try ExportRequest.spans(in: Data(body.readableBytesView))
            receiver.received.withLock { $0 += spans }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
        }
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in receiver.port.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
        let group = ServiceGroup(services: [app], logger: logger)
        receiver.group.withLock { $0 = group }
        receiver.running.withLock { $0 = Task { try await group.run() } }
        guard try await eventually(timeout: .seconds(30), { receiver.port.withLock { $0 } != nil }) else {
            await receiver.stop()
            throw ChildFailure(description: "the OTLP receiver did not start")
        }
        return receiver
    }

    func stop() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
        _ = await running.withLock { $0 }?.result
    }
}

/// The parts of an OTLP/JSON `ExportTraceServiceRequest` the test reads. Ids are hex in the OTLP/JSON spec and base64
/// in protobuf's general JSON mapping: both are read.
private struct ExportRequest: Decodable {
    struct ResourceSpans: Decodable {
        let resource: Resource?
        let scopeSpans: [ScopeSpans]?
    }
    struct Resource: Decodable {
        let attributes: [KeyValue]?
    }
    struct ScopeSpans: Decodable {
        let spans: [Span]?
    }
    struct Span: Decodable {
        let traceId: String
        let spanId: String
        let parentSpanId: String?
        let name: String
        let kind: Int?
        let attributes: [KeyValue]?
    }
    struct KeyValue: Decodable {
        struct Value: Decodable {
            let stringValue: String?
        }
        let key: String
        let value: Value?
    }

    let resourceSpans: [ResourceSpans]?

    static func spans(in body: Data) throws -> [ExportedSpan] {
        let request = try JSONDecoder().decode(ExportRequest.self, from: body)
        func strings(_ attributes: [KeyValue]?) -> [String: String] {
            var values: [String: String] = [:]
            for attribute in attributes ?? [] { values[attribute.key] = attribute.value?.stringValue }
            return values
        }
        return (request.resourceSpans ?? []).flatMap { resourceSpans in
            let serviceName = strings(resourceSpans.resource?.attributes)["service.name"]
            return (resourceSpans.scopeSpans ?? []).flatMap { $0.spans ?? [] }.map { span in
                ExportedSpan(
                    name: span.name, traceID: hex(span.traceId), spanID: hex(span.spanId),
                    parentSpanID: span.parentSpanId.flatMap { $0.isEmpty ? nil : hex($0) }, kind: span.kind ?? 0,
                    attributes: strings(span.attributes), serviceName: serviceName)
            }
        }
    }

    /// An id in lowercase hex, from hex or base64.
    static func hex(_ id: String) -> String {
        let isHex = (id.count == 32 || id.count == 16) && id.allSatisfy(\.isHexDigit)
        guard !isHex, let bytes = Data(base64Encoded: id) else { return id.lowercased() }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}
