#pragma once
// A growable buffer whose bytes start as zero, for hash tables whose empty
// slot is all zero bits (pipeline/dedupe.h). Large buffers are anonymous
// mappings: they are zero without a memset, and Grow() extends them with
// mremap, which moves the page-table entries of the old contents instead of
// copying them, so growing from n to 2n bytes touches only the new n (an
// untouched page costs nothing until first written), and the new pages are
// faulted in writable in one system call (MADV_POPULATE_WRITE). Growing a
// std::vector touches the new 2n (zero fill) while the old n is still held,
// then frees the old n (unmapped when large, so memory touched again later).
// Small buffers (below kMapBytes) come from malloc, as a mapping per table
// would waste most of a page and a system call each.
// Not thread-safe.

#include <cstddef>

namespace earshot {

class ZeroedBuffer {
 public:
  // From this size up a buffer is a mapping of its own (glibc's default
  // mmap threshold).
  static constexpr size_t kMapBytes = 128 * 1024;

  ZeroedBuffer() = default;
  ~ZeroedBuffer();
  ZeroedBuffer(ZeroedBuffer&& o) noexcept;
  ZeroedBuffer& operator=(ZeroedBuffer&& o) noexcept;
  ZeroedBuffer(const ZeroedBuffer&) = delete;
  ZeroedBuffer& operator=(const ZeroedBuffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  bool mapped() const { return mapped_; }

  // Grows to `size` bytes (no effect when not larger), keeping the contents;
  // the bytes added are zero. The data may move. Throws std::bad_alloc when
  // out of memory, as a container would.
  void Grow(size_t size);

 private:
  void Release();

  void* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace earshot
