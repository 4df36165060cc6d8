// libFuzzer's driver, called from each target's Swift `main` (SwiftPM names an executable's
// entry point itself, so the targets cannot use libFuzzer's own `main`).
#ifndef MASSCAST_FUZZ_DRIVER_H
#define MASSCAST_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
