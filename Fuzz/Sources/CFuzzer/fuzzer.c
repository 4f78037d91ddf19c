// Only a header: LLVMFuzzerRunDriver is in the libFuzzer runtime.
