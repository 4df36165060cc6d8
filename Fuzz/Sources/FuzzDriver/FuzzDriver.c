// Only a declaration (include/FuzzDriver.h): LLVMFuzzerRunDriver is in libFuzzer, which
// -sanitize=fuzzer links.
#include "FuzzDriver.h"
