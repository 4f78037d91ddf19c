#ifndef RQ_BENCH_HEAP_INFO_H
#define RQ_BENCH_HEAP_INFO_H
#include <stddef.h>

/// Bytes of heap in use now, by malloc's own count (glibc's mallinfo2: uordblks).
size_t rq_bench_heap_in_use(void);

#endif
