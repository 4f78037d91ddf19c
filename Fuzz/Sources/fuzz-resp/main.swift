import FuzzSupport
@_spi(Fuzzing) import RQ

// hiredis' RESP reply parser, as a connection uses it: feed the bytes, drain every complete reply.
fuzz { Fuzzing.parseReplies($0) }
