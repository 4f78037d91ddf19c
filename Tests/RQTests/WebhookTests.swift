import Foundation
import Testing

@testable import RQ

/// RQ's stored form of webhooks, their payload and the requests made from them, without a server.
@Suite struct WebhookTests {
    /// python3 -c "from rq import Webhook; import json; print(json.dumps([Webhook('http://example.com/x', 'finished',
    /// method='POST', headers={'X-Token': 'abc'}, timeout=5).to_dict(), Webhook('https://example.com/y', 'failed')
    /// .to_dict()]))"
    static let pythonField =
        #"[{"url": "http://example.com/x", "job_status": "finished", "method": "POST", "headers": {"X-Token": "abc"}, "timeout": 5}, {"url": "https://example.com/y", "job_status": "failed", "method": "GET", "headers": null, "timeout": 10}]"#

    static let webhooks = [
        Webhook(
            url: "http://example.com/x", jobStatus: .finished, method: .post, headers: ["X-Token": "abc"], timeout: 5),
        Webhook(url: "https://example.com/y", jobStatus: .failed),
    ]

    @Test func storedAsPythonStoresThem() {
        #expect(String(decoding: Webhook.serialized(Self.webhooks), as: UTF8.self) == Self.pythonField)
        #expect(Webhook.parse(Array(Self.pythonField.utf8)) == Self.webhooks)
    }

    /// Python's `Webhook.from_dict` defaults, and its refusals (any bad entry: Python ignores the whole field).
    @Test func readsAsPythonReadsThem() {
        #expect(
            Webhook.parse(Array(#"[{"url": "http://h/", "job_status": "failed"}]"#.utf8))
                == [Webhook(url: "http://h/", jobStatus: .failed, method: .get, headers: nil, timeout: 10)])
        for bad in [
            #"[{"url": "http://h/", "job_status": "started"}]"#,
            #"[{"url": "ftp://h/", "job_status": "failed"}]"#,
            #"[{"url": "http://h/", "job_status": "failed", "method": "get"}]"#,
            #"[{"url": "http://h/", "job_status": "failed", "timeout": 0}]"#,
            #"[{"url": "http://h/", "job_status": "failed", "timeout": 1.5}]"#,
            #"[{"url": "http://h/", "job_status": "failed", "headers": ["a"]}]"#,
            #"[{"url": "http://h/", "job_status": "finished"}, {"job_status": "failed"}]"#,
            #"{"url": "http://h/"}"#,
            "not json",
        ] {
            #expect(Webhook.parse(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    /// python3 -c "from rq import Webhook; Webhook(URL, 'finished')" for each URL: accepted or ValueError.
    @Test func urlsCheckedAsPythonChecksThem() {
        for url in ["http://x", "HTTP://x", "http://x?y", "https://h:8080/p"] {
            #expect(Webhook.isHTTPURL(url), "\(url)")
        }
        for url in ["ftp://x", "http://", "http:/x", "x", ""] {
            #expect(!Webhook.isHTTPURL(url), "\(url)")
        }
    }

    @Test func enqueueRejectsWhatPythonRejects() {
        let bad = [
            Webhook(url: "ftp://h/", jobStatus: .finished),
            Webhook(url: "http://h/", jobStatus: .started),
            Webhook(url: "http://h/", jobStatus: .finished, timeout: 0),
            Webhook(url: "http://h/", jobStatus: .finished, headers: ["X-A": "1\r\nX-B: 2"]),
        ]
        for webhook in bad {
            #expect(throws: RQError.self) { try EnqueueOptions(webhooks: [webhook]).validate() }
        }
        #expect(throws: Never.self) { try EnqueueOptions(webhooks: Self.webhooks).validate() }
        #expect(
            Webhook.forStatuses([.finished, .failed], url: "http://h/", method: .post)
                == [
                    Webhook(url: "http://h/", jobStatus: .finished, method: .post),
                    Webhook(url: "http://h/", jobStatus: .failed, method: .post),
                ])
    }

    /// python3 -c "from rq.utils import str_to_date as d; print(d('2026-01-02T03:04:05.123456Z').isoformat(),
    /// d('2026-01-02T03:04:05.000000Z').isoformat())"
    @Test func timesAsPythonIsoformat() throws {
        let withFraction = try #require(RQTimestamp.parse("2026-01-02T03:04:05.123456Z"))
        let whole = try #require(RQTimestamp.parse("2026-01-02T03:04:05.000000Z"))
        #expect(Webhook.isoformat(withFraction) == "2026-01-02T03:04:05.123456+00:00")
        #expect(Webhook.isoformat(whole) == "2026-01-02T03:04:05+00:00")
    }

    @Test func payloadHasRQsFields() throws {
        let enqueued = try #require(RQTimestamp.parse("2026-01-02T03:04:05.123456Z"))
        let ended = try #require(RQTimestamp.parse("2026-01-02T03:04:06.5Z"))
        let finished = Webhook.payload(
            jobID: "j1", functionName: "examples.add", status: .finished, enqueuedAt: enqueued, endedAt: ended,
            excString: nil)
        #expect(
            String(decoding: finished.serialized(), as: UTF8.self)
                == #"{"job_id": "j1", "func_name": "examples.add", "status": "finished", "enqueued_at": "2026-01-02T03:04:05.123456+00:00", "ended_at": "2026-01-02T03:04:06.500000+00:00"}"#
        )
        let failed = Webhook.payload(
            jobID: "j1", functionName: "f", status: .failed, enqueuedAt: nil, endedAt: ended, excString: "boom")
        #expect(failed["exc_info"] == "boom")
        #expect(failed["enqueued_at"] == .null)
    }

    @Test func requestsCarryMethodHeadersAndBody() {
        let payload: JSONValue = ["job_id": "j1"]
        let post = Self.webhooks[0].request(payload: payload)
        #expect(post.method == .post)
        #expect(post.headers.map(\.name) == ["Content-Type", "X-Token"])
        #expect(post.headers.map(\.value) == ["application/json", "abc"])
        #expect(post.body == payload.serialized())
        #expect(post.timeout == 5)
        let get = Self.webhooks[1].request(payload: payload)
        #expect(get.method == .get)
        #expect(get.body == nil)
        #expect(get.headers.isEmpty)
        let ownType = Webhook(
            url: "http://h/", jobStatus: .finished, method: .post, headers: ["content-type": "text/x"]
        )
        .request(payload: payload)
        #expect(ownType.headers.map(\.name) == ["content-type"])
    }
}
