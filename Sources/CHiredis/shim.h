#ifndef SWIFT_RQ_CHIREDIS_SHIM_H
#define SWIFT_RQ_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <sys/time.h>

/// Reply-type constants as plain ints: hiredis defines them as macros Swift imports inconsistently across versions.
static inline int rq_reply_string(void) { return REDIS_REPLY_STRING; }
static inline int rq_reply_array(void) { return REDIS_REPLY_ARRAY; }
static inline int rq_reply_integer(void) { return REDIS_REPLY_INTEGER; }
static inline int rq_reply_nil(void) { return REDIS_REPLY_NIL; }
static inline int rq_reply_status(void) { return REDIS_REPLY_STATUS; }
static inline int rq_reply_error(void) { return REDIS_REPLY_ERROR; }

static inline int rq_context_err(const redisContext *c) { return c->err; }
static inline const char *rq_context_errstr(const redisContext *c) { return c->errstr; }
static inline int rq_context_fd(const redisContext *c) { return c->fd; }
static inline int rq_err_io(void) { return REDIS_ERR_IO; }
static inline int rq_err_eof(void) { return REDIS_ERR_EOF; }
static inline int rq_ok(void) { return REDIS_OK; }

static inline struct timeval rq_timeval(long long microseconds) {
    struct timeval tv;
    tv.tv_sec = (time_t)(microseconds / 1000000);
    tv.tv_usec = (suseconds_t)(microseconds % 1000000);
    return tv;
}
#endif
