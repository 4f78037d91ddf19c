import Foundation
import RQ
import RQTesting
import Testing

@Suite struct RedisClientTests {
    @Test func startsAndStopsAThrowawayServer() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        #expect(try await redis.send("PING").string == "PONG")
        await server.stop()
        #expect(!server.isRunning)
    }
}
