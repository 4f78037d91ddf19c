#ifndef SWIFT_RQ_CZLIB_SHIM_H
#define SWIFT_RQ_CZLIB_SHIM_H
#include <zlib.h>

/// `inflateInit` is a macro; Swift cannot call it directly.
static inline int rq_inflate_init(z_stream *stream) { return inflateInit(stream); }
#endif
