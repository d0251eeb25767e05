// Replaces the global operator new/delete of the test binary to record the largest single
// request, so the corruption test can assert that no hostile file makes the reader ask for
// gigabytes (an allocation that would succeed lazily under overcommit and pass unnoticed).
#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/model/test_util.h"

namespace {
std::atomic<size_t> g_largest{0};

void* allocate(size_t n) {
  size_t prev = g_largest.load(std::memory_order_relaxed);
  while (n > prev && !g_largest.compare_exchange_weak(prev, n, std::memory_order_relaxed)) {
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(size_t n) { return allocate(n); }
void* operator new[](size_t n) { return allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace quantd::model::testing {
size_t largest_allocation() { return g_largest.load(); }
void reset_largest_allocation() { g_largest.store(0); }
}  // namespace quantd::model::testing
