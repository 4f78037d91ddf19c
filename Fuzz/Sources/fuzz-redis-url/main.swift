import FuzzSupport
import RQ

// `RedisConfiguration(url:)`: `redis://`, `rediss://`, `unix://` and `redis+sentinel://` URLs.
fuzz { bytes in _ = try? RedisConfiguration(url: String(decoding: bytes, as: UTF8.self)) }
