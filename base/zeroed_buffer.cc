#include "base/zeroed_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace earshot {
namespace {

size_t PageRound(size_t n) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

// Faults the pages in, writable, in one system call: a hash table touches
// every page of its buffer soon, and its first touch of a page is usually a
// read (a probe), which maps the shared zero page and then takes a second
// fault at the write. A hint: when it fails the pages fault on first touch.
void Populate(void* p, size_t n) {
#ifdef MADV_POPULATE_WRITE
  if (n != 0) madvise(p, n, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)n;
#endif
}

}  // namespace

ZeroedBuffer::~ZeroedBuffer() { Release(); }

ZeroedBuffer::ZeroedBuffer(ZeroedBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      mapped_(std::exchange(o.mapped_, false)) {}

ZeroedBuffer& ZeroedBuffer::operator=(ZeroedBuffer&& o) noexcept {
  if (this != &o) {
    Release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, false);
  }
  return *this;
}

void ZeroedBuffer::Release() {
  if (data_ == nullptr) return;
  if (mapped_) munmap(data_, PageRound(size_));
  else std::free(data_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
}

void ZeroedBuffer::Grow(size_t size) {
  if (size <= size_) return;
  void* p;
  if (size < kMapBytes) {
    p = std::realloc(data_, size);
    if (p == nullptr) throw std::bad_alloc();
    std::memset(static_cast<char*>(p) + size_, 0, size - size_);
  } else if (mapped_) {
    p = mremap(data_, PageRound(size_), PageRound(size), MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    Populate(static_cast<char*>(p) + PageRound(size_), PageRound(size) - PageRound(size_));
  } else {
    p = mmap(nullptr, PageRound(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    Populate(p, PageRound(size));
    if (size_ != 0) std::memcpy(p, data_, size_);
    std::free(data_);
    mapped_ = true;
  }
  data_ = p;
  size_ = size;
}

}  // namespace earshot
