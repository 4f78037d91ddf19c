// swift-format-ignore-file
// PythonInteroperability.md: see Support.swift.
import RQ

func pythonSerializers(redis: Redis) async throws {
    let pickled = Queue("default", redis: redis, serializer: .pickle)   // for Python workers started without -S json
    try await pickled.enqueue("examples.add", args: [2, .bigInt("18446744073709551616")])
}
