// swift-format-ignore-file
// ProductionRedis.md: see Support.swift.
import RQ

func productionConfiguration() throws {
    var configuration = try RedisConfiguration(url: "rediss://rq-worker:secret@redis.internal:6380/0")
    configuration.tls?.caCertificates = "/etc/ssl/redis-ca.pem"
    configuration.connectTimeout = .seconds(2)
    configuration.clientName = "billing-producer"      // CLIENT SETNAME, shown by CLIENT LIST
    let redis = Redis(configuration: configuration)
    _ = redis
}

func productionSentinel() {
    var sentinel = RedisConfiguration()
    sentinel.password = "secret"                      // the master's
    sentinel.sentinel = SentinelConfiguration(
        sentinels: [.tcp(host: "10.0.0.1", port: 26379), .tcp(host: "10.0.0.2", port: 26379)],
        masterName: "mymaster", password: "sentinel-secret")
    let redis = Redis(configuration: sentinel)
    _ = redis
}

func productionWait(queue: Queue, redis: Redis) async throws {
    let payment = try await queue.enqueue("billing.charge", args: ["order-1234"])
    let replicas = try await redis.send("WAIT", 1, 1000)   // replicas that have the write, within 1 s
    print(payment.id, replicas)
}
