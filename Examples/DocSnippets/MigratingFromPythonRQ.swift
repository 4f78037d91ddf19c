// swift-format-ignore-file
// MigratingFromPythonRQ.md: see Support.swift.
import RQ

func sendWelcomeMail(to userID: Int, locale: String) async throws {}

func migratingPort() {
    var functions = JobFunctionRegistry()
    functions.register("app.tasks.send_welcome") { call in
        let userID = try call.argument(0, as: Int.self)
        let locale = call.kwargs["locale"]?.stringValue ?? "en"
        try await sendWelcomeMail(to: userID, locale: locale)
        return .null
    }
    _ = functions
}

func migratingProducers(redis: Redis) async throws {
    let emails = Queue("emails", redis: redis, serializer: .pickle)
    try await emails.enqueue("app.tasks.send_welcome", args: [42], kwargs: ["locale": "de"],
                             options: EnqueueOptions(timeout: 60, retry: Retry(max: 3, intervals: [10, 60, 300])))
}
