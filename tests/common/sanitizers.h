#pragma once

// LQ_ADDRESS_SANITIZER is 1 in a build with AddressSanitizer (scripts/run-sanitizers.sh), for
// tests that cannot run under it: ASan reserves terabytes of address space (no RLIMIT_AS) and
// replaces the allocator (no malloc tuning). GCC says __SANITIZE_ADDRESS__, clang answers
// __has_feature (the sanitizer build uses clang).
#if defined(__SANITIZE_ADDRESS__)
#define LQ_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LQ_ADDRESS_SANITIZER 1
#endif
#endif
