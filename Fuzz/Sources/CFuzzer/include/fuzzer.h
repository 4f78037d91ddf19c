#ifndef RQ_FUZZER_H
#define RQ_FUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in the runtime `-sanitize=fuzzer` links): parses libFuzzer's flags from argv and runs
/// `callback` on each input. A target calls it from its own `main`, so the runtime's `main` is never linked in.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
