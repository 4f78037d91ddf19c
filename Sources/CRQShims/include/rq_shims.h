#ifndef SWIFT_RQ_SHIMS_H
#define SWIFT_RQ_SHIMS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

/// pipe2(2) with O_CLOEXEC: glibc declares it only under _GNU_SOURCE, which Swift's Glibc module does not set.
static inline int rq_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

/// Closes every descriptor from `lowest` up in the spawned child (glibc 2.34+): a child must not inherit pipes or
/// sockets that other threads of this process opened without close-on-exec.
static inline int rq_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}
#endif
