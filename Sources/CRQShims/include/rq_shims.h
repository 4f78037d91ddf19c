#ifndef SWIFT_RQ_SHIMS_H
#define SWIFT_RQ_SHIMS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <unistd.h>

/// pipe2(2) with O_CLOEXEC: glibc declares it only under _GNU_SOURCE, which Swift's Glibc module does not set.
static inline int rq_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
#endif
