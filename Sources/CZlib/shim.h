#ifndef SWIFT_RQ_CZLIB_SHIM_H
#define SWIFT_RQ_CZLIB_SHIM_H
#include <zlib.h>

/// `inflateInit` is a macro; Swift cannot call it directly.
static inline int rq_inflate_init(z_stream *stream) { return inflateInit(stream); }

/// `deflateInit` at the default level, as Python's `zlib.compress` and zlib's `compress2` use.
static inline int rq_deflate_init(z_stream *stream) { return deflateInit(stream, Z_DEFAULT_COMPRESSION); }
#endif
