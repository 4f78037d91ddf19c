#ifndef SWIFT_RQ_SHIMS_H
#define SWIFT_RQ_SHIMS_H
#include <fcntl.h>
#include <spawn.h>
#include <sys/random.h>
#include <unistd.h>

// glibc declares these two only under _GNU_SOURCE / __USE_MISC. Defining _GNU_SOURCE here would change system
// header definitions (fd_set, …) relative to the other C modules, which clang rejects; so the prototypes are
// declared directly (they match glibc's).
extern int pipe2(int pipefd[2], int flags);
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/// pipe2(2) with O_CLOEXEC.
static inline int rq_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

/// pipe2(2) with O_CLOEXEC and O_NONBLOCK on both ends.
static inline int rq_pipe_nonblocking_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK); }

/// Closes every descriptor from `lowest` up in the spawned child (glibc 2.34+): a child must not inherit pipes or
/// sockets that other threads of this process opened without close-on-exec.
static inline int rq_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

/// Names the calling thread (at most 15 bytes are kept), for `top -H` and debuggers.
int rq_set_thread_name(const char *name);
#endif
