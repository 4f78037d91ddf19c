#include <malloc.h>
#include "heap_info.h"

size_t rq_bench_heap_in_use(void) { return mallinfo2().uordblks; }
