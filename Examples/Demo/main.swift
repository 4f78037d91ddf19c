import RQ
import RQTesting
print("starting")
let server = try await RedisServer.start()
print("started \(server.port)")
let redis = try server.makeClient()
print(try await redis.send("PING"))
await server.stop()
print("stopped")
