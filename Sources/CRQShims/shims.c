// Most shims are inline in include/rq_shims.h; this file holds those that need _GNU_SOURCE, which must not be
// defined in the header (see there).
#define _GNU_SOURCE
#include <pthread.h>
#include "rq_shims.h"

int rq_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }
