#pragma once
// A cache hint that the compiler keeps. GCC 12 drops __builtin_prefetch of
// an address computed from a container's storage in some inlining contexts
// (seen with FlatMap::Prefetch inlined into HoppingWindow::Prefetch: no
// instruction at all), so on x86 the hint is an asm statement.

namespace earshot {

inline void PrefetchForRead(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace earshot
