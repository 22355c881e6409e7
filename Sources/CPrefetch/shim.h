// A cache prefetch, which Swift does not expose: starts loading a line without waiting for it, so the
// misses of many table probes overlap (see ByteKeyCounter.prefetch). Inlined into the Swift callers.
static inline void streamtop_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
