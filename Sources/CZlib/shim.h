#ifndef SWIFT_RQ_CZLIB_SHIM_H
#define SWIFT_RQ_CZLIB_SHIM_H
#include <zlib.h>

/// `inflateInit` is a macro; Swift cannot call it directly.
static inline int rq_inflate_init(z_stream *stream) { return inflateInit(stream); }

/// `deflateInit` at the default level, as Python's `zlib.compress` and zlib's `compress2` use.
static inline int rq_deflate_init(z_stream *stream) { return deflateInit(stream, Z_DEFAULT_COMPRESSION); }
/// `deflateInit2` at the default level and window with a small hash table (`memLevel` 2: 512 chains and a 256-symbol
/// block buffer instead of 32768 and 16384). Resetting it clears 1 KiB instead of 64 KiB; for inputs shorter than
/// 256 bytes the output is the same bytes.
static inline int rq_deflate_init_small(z_stream *stream) {
    return deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15, 2, Z_DEFAULT_STRATEGY);
}
#endif
