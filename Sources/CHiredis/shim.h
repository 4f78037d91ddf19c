#ifndef SWIFT_RQ_CHIREDIS_SHIM_H
#define SWIFT_RQ_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

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

// MARK: Replies built in one buffer

/// hiredis' reader builds one heap object per reply element (a `calloc` for each, a `malloc` for each string, then a
/// `free` for each); a worker's replies have ~75 elements per job. These reply functions instead append every
/// element, in the order the reader meets them (an array before its elements), to one reusable buffer:
/// a tag byte — `b` bulk string, `s` status, `e` error, `i` integer, `n` nil, `a` array — then an 8-byte length,
/// integer or element count, then a string's bytes. The reader hands back the buffer itself as the reply; the
/// caller decodes it and empties it before asking for the next one.
typedef struct rq_reply_buffer {
    int type;  // Never a hiredis reply type: hiredis 1.x reads this field to recognize RESP3 push replies.
    unsigned char *bytes;
    size_t length;
    size_t capacity;
} rq_reply_buffer;

static inline int rq_reply_reserve(rq_reply_buffer *buffer, size_t more) {
    if (buffer->length + more <= buffer->capacity) return 1;
    size_t capacity = buffer->capacity ? buffer->capacity : 4096;
    while (capacity < buffer->length + more) capacity *= 2;
    unsigned char *bytes = (unsigned char *)realloc(buffer->bytes, capacity);
    if (bytes == NULL) return 0;
    buffer->bytes = bytes;
    buffer->capacity = capacity;
    return 1;
}

static inline void *rq_reply_append(const redisReadTask *task, unsigned char tag, long long number,
                                    const char *string, size_t length) {
    rq_reply_buffer *buffer = (rq_reply_buffer *)task->privdata;
    if (!rq_reply_reserve(buffer, 9 + length)) return NULL;  // NULL: hiredis reports out of memory
    buffer->bytes[buffer->length] = tag;
    memcpy(buffer->bytes + buffer->length + 1, &number, 8);
    if (length > 0) memcpy(buffer->bytes + buffer->length + 9, string, length);
    buffer->length += 9 + length;
    return buffer;
}

static inline void *rq_build_string(const redisReadTask *task, char *string, size_t length) {
    unsigned char tag = task->type == REDIS_REPLY_STATUS ? 's' : task->type == REDIS_REPLY_ERROR ? 'e' : 'b';
    return rq_reply_append(task, tag, (long long)length, string, length);
}
static inline void *rq_build_integer(const redisReadTask *task, long long value) {
    return rq_reply_append(task, 'i', value, NULL, 0);
}
static inline void *rq_build_nil(const redisReadTask *task) { return rq_reply_append(task, 'n', 0, NULL, 0); }
static inline void rq_build_free(void *reply) { (void)reply; }  // The buffer belongs to the connection.
#if HIREDIS_MAJOR >= 1
static inline void *rq_build_array(const redisReadTask *task, size_t count) {
    return rq_reply_append(task, 'a', (long long)count, NULL, 0);
}
static inline void *rq_build_double(const redisReadTask *task, double value, char *string, size_t length) {
    (void)value;
    return rq_reply_append(task, 'b', (long long)length, string, length);
}
static inline void *rq_build_bool(const redisReadTask *task, int value) {
    return rq_reply_append(task, 'i', value, NULL, 0);
}
#else
static inline void *rq_build_array(const redisReadTask *task, int count) {
    return rq_reply_append(task, 'a', count, NULL, 0);
}
#endif

/// Makes the context's reader build its replies in `buffer`.
static inline void rq_use_reply_buffer(redisContext *context, rq_reply_buffer *buffer) {
    static redisReplyObjectFunctions functions = {
        .createString = rq_build_string,
        .createArray = rq_build_array,
        .createInteger = rq_build_integer,
        .createNil = rq_build_nil,
#if HIREDIS_MAJOR >= 1
        .createDouble = rq_build_double,
        .createBool = rq_build_bool,
#endif
        .freeObject = rq_build_free,
    };
    buffer->type = -1;
    context->reader->fn = &functions;
    context->reader->privdata = buffer;
}
#endif
