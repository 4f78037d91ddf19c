import FuzzSupport
@_spi(Fuzzing) import RQ

// A job hash as `HGETALL` returns it (one RESP reply), decoded as `Job.fetch` decodes it.
fuzz(Fuzzing.decodeJobHash)
