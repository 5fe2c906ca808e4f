#include "pipeline/audience.h"

#include "pipeline/json_write.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "pipeline/signals.h"  // CutUtf8
#include "rules/normalizer.h"

namespace earshot {

// ---------------------------------------------------------------------------
// AuthorTable

namespace {

// Zeroed memory for `bytes` (rounded up to whole pages), advised to be
// backed by 2 MiB pages when it spans at least one, and mapped writable at
// once: a table's slots are read before they are written, so each fresh page
// faulted twice (the read maps the shared zero page, the write copies it),
// and a table uses every page of itself anyway (a resize leaves it 3/8 full
// of authors spread over all of it; a sweep's table fills up again).
void* MapZeroed(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (bytes >= (size_t{2} << 20)) madvise(p, bytes, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
  madvise(p, bytes, MADV_POPULATE_WRITE);  // Linux 5.14; on failure the pages fault in as before
#endif
  return p;
}

// `s` cut to kMaxAuthorBytes at a character boundary; nearly every id and
// handle is shorter, and is then taken without a call.
inline std::string_view Cut(std::string_view s) {
  return s.size() <= kMaxAuthorBytes ? s : CutUtf8(s, kMaxAuthorBytes);
}

// Raises the dense registers `regs` to the sparse keys in the low 32 bits
// of [begin, end).
void RaiseRegisters(uint8_t* regs, const uint64_t* begin, const uint64_t* end, int precision) {
  for (const uint64_t* k = begin; k != end; ++k) {
    uint32_t index;
    uint8_t rank;
    HllSparseToDense(static_cast<uint32_t>(*k), precision, &index, &rank);
    regs[index] = std::max(regs[index], rank);
  }
}

}  // namespace

AuthorTable::~AuthorTable() {
  if (slots_ != nullptr) munmap(slots_, capacity_ * sizeof(Slot));
}

AuthorTable::Slot* AuthorTable::Probe(uint64_t key) {
  for (size_t i = Home(key);; i = (i + 1) & (capacity_ - 1)) {
    if (slots_[i].key == key || slots_[i].key == 0) return &slots_[i];
  }
}

void AuthorTable::Resize(size_t capacity) {
  Slot* old = slots_;
  const size_t old_capacity = capacity_;
  slots_ = static_cast<Slot*>(MapZeroed(capacity * sizeof(Slot)));
  capacity_ = capacity;
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i].key != 0) *Probe(old[i].key) = old[i];
  }
  if (old != nullptr) munmap(old, old_capacity * sizeof(Slot));
}

void AuthorTable::Store(std::vector<std::unique_ptr<char[]>>* arena, size_t* used,
                        std::string_view id, std::string_view handle, Record* r) {
  const size_t n = id.size() + handle.size();  // at most 2 x kMaxAuthorBytes
  if (arena->empty() || *used + n > (size_t{1} << kArenaBits)) {
    if (arena->size() == kArenaChunks) {  // 4 GiB of names: keep them empty
      r->at = 0;
      r->id_size = r->handle_size = 0;
      return;
    }
    arena->push_back(std::unique_ptr<char[]>(new char[size_t{1} << kArenaBits]));  // not zeroed
    *used = 0;
  }
  char* p = arena->back().get() + *used;
  if (id.data() + id.size() == handle.data()) {
    std::memcpy(p, id.data(), n);  // back to back already (a batch's, a swept arena's)
  } else {
    std::memcpy(p, id.data(), id.size());
    std::memcpy(p + id.size(), handle.data(), handle.size());
  }
  r->at = static_cast<uint32_t>(((arena->size() - 1) << kArenaBits) | *used);
  r->id_size = static_cast<uint16_t>(id.size());
  r->handle_size = static_cast<uint16_t>(handle.size());
  *used += n;
}

uint32_t AuthorTable::Intern(uint64_t hash, std::string_view id, std::string_view handle,
                             int64_t event_ms) {
  const uint32_t sec =
      event_ms <= 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(event_ms / 1000, UINT32_MAX));
  id = Cut(id);
  handle = Cut(handle);
  const uint32_t handle_hash = static_cast<uint32_t>(HashBytes(handle));
  if ((size_ + 1) * 4 > capacity_ * 3) Resize(capacity_ == 0 ? 1024 : capacity_ * 2);
  const uint64_t key = Key(hash);
  Slot* s = Probe(key);
  if (s->key == 0) {
    uint32_t ref;
    if (!free_.empty()) {
      ref = free_.back();
      free_.pop_back();
    } else {
      ref = next_++;
      if (ref / kChunk >= records_.size()) records_.push_back(std::make_unique<Record[]>(kChunk));
    }
    Record& r = At(ref);
    Store(&arena_, &arena_used_, id, handle, &r);
    *s = Slot{key, ref, sec, handle_hash, sec};
    ++size_;
    return ref;
  }
  if (sec > s->last_sec) s->last_sec = sec;
  // The handle of the author's latest event, to the second; of events in
  // one second, the later arrival's (docs/audience.md).
  if (handle_hash == s->handle_hash) {
    if (sec > s->handle_sec) s->handle_sec = sec;
  } else if (sec >= s->handle_sec && pins_ == 0) {
    Record& r = At(s->ref);
    // The id again beside the new handle; the old bytes wait for a sweep.
    const std::string id_copy(arena_[r.at >> kArenaBits].get() + (r.at & kArenaMask), r.id_size);
    Store(&arena_, &arena_used_, id_copy, handle, &r);
    s->handle_hash = handle_hash;
    s->handle_sec = sec;
  }
  return s->ref;
}

size_t AuthorTable::Sweep(int64_t before_ms) {
  if (pins_ > 0 || size_ == 0) return 0;
  // Every event of the author before `before_ms`.
  auto gone = [before_ms](const Slot& s) {
    return (static_cast<int64_t>(s.last_sec) + 1) * 1000 <= before_ms;
  };
  size_t n = 0;
  for (size_t i = 0; i < capacity_; ++i) n += slots_[i].key != 0 && gone(slots_[i]);
  if (n == 0) return 0;
  // Into a fresh table of the same size (deleting in place would shift
  // probe runs around), the kept authors' strings into a fresh arena.
  Slot* old = slots_;
  slots_ = static_cast<Slot*>(MapZeroed(capacity_ * sizeof(Slot)));
  size_ = 0;
  std::vector<std::unique_ptr<char[]>> arena;
  size_t used = 0;
  for (size_t i = 0; i < capacity_; ++i) {
    if (old[i].key == 0) continue;
    Record& r = At(old[i].ref);
    if (gone(old[i])) {
      r = Record{};
      free_.push_back(old[i].ref);
      continue;
    }
    const char* p = arena_[r.at >> kArenaBits].get() + (r.at & kArenaMask);
    Store(&arena, &used, std::string_view(p, r.id_size),
          std::string_view(p + r.id_size, r.handle_size), &r);
    *Probe(old[i].key) = old[i];
    ++size_;
  }
  arena_.swap(arena);
  arena_used_ = used;
  munmap(old, capacity_ * sizeof(Slot));
  return n;
}

size_t AuthorTable::MemoryBytes() const {
  return records_.size() * kChunk * sizeof(Record) + arena_.size() * (size_t{1} << kArenaBits) +
         free_.capacity() * sizeof(uint32_t) + capacity_ * sizeof(Slot);
}

AuthorTable::View AuthorTable::Pin() {
  ++pins_;
  View v;
  v.records_.reserve(records_.size());
  for (const auto& c : records_) v.records_.push_back(c.get());
  v.bytes_.reserve(arena_.size());
  for (const auto& c : arena_) v.bytes_.push_back(c.get());
  return v;
}

// ---------------------------------------------------------------------------
// AuthorBatch

uint32_t AuthorBatch::Add(uint64_t hash, std::string_view id, std::string_view handle,
                          int64_t event_ms) {
  id = Cut(id);
  handle = Cut(handle);
  Pending p{hash, event_ms, static_cast<uint32_t>(bytes_.size()), static_cast<uint32_t>(id.size()),
            0, static_cast<uint32_t>(handle.size())};
  bytes_.append(id);
  p.handle_begin = static_cast<uint32_t>(bytes_.size());
  bytes_.append(handle);
  pending_.push_back(p);
  return static_cast<uint32_t>(pending_.size() - 1);
}

void AuthorBatch::Intern(AuthorTable* table) {
  // How many authors ahead a slot is prefetched: enough misses in flight
  // to cover the memory latency.
  constexpr size_t kAhead = 12;
  const size_t n = pending_.size();
  refs_.resize(n);
  for (size_t i = 0; i < n && i < kAhead; ++i) table->Prefetch(pending_[i].hash);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) table->Prefetch(pending_[i + kAhead].hash);
    const Pending& p = pending_[i];
    refs_[i] = table->Intern(p.hash, std::string_view(bytes_).substr(p.id_begin, p.id_size),
                             std::string_view(bytes_).substr(p.handle_begin, p.handle_size),
                             p.event_ms);
  }
}

void AuthorBatch::Clear() {
  pending_.clear();
  bytes_.clear();
  refs_.clear();
}

// ---------------------------------------------------------------------------
// RecordLog

RecordLog::View RecordLog::Prefix() const {
  View v;
  v.chunks.assign(chunks_.begin(), chunks_.end());
  v.size = size_;
  return v;
}

// ---------------------------------------------------------------------------
// StepSummary

// An author of the brand being summarized (the grouping table of StepSummary::Build).
struct AuthorSlot {
  uint32_t author_plus_one;  // 0: empty
  uint32_t entry;            // into the summary's tops
  uint64_t platforms;        // bit p: the author's entry is in platform p's sketch (p < 64)
};

struct StepSummary::Scratch {
  StepSummary staging;  // the summary being built; copied out at its exact size
  std::vector<uint32_t> first, next;
  std::vector<AudienceRecord> recs;
  std::vector<uint64_t> keys;
  std::vector<AuthorSlot> table;
  std::vector<uint64_t> pairs;
  std::vector<uint32_t> per_platform, next_platform;
};

std::shared_ptr<StepSummary::Scratch> StepSummary::NewScratch() {
  return std::make_shared<Scratch>();
}

std::shared_ptr<const StepSummary> StepSummary::Build(const StepSummary* prev,
                                                      const RecordLog::View& log, size_t begin,
                                                      size_t end, uint32_t capacity,
                                                      int precision, Scratch* scratch) {
  std::shared_ptr<Scratch> own;
  if (scratch == nullptr) {
    own = NewScratch();
    scratch = own.get();
  }
  StepSummary* out = &scratch->staging;
  out->brands_.clear();
  out->tops_.clear();
  out->sketches_.clear();
  out->sparse_.clear();
  out->dense_.clear();
  const size_t m = size_t{1} << precision;
  const size_t n_new = end - begin;

  // The new records grouped by brand, in arrival order within a brand (a
  // stable counting sort), copied out so each group is read sequentially.
  // The log is read chunk by chunk (a chunk's records are contiguous).
  auto each_record = [&log, begin, end](auto&& f) {
    for (size_t i = begin; i < end;) {
      const AudienceRecord* chunk = log.chunks[i / RecordLog::kChunk]->data();
      const size_t from = i % RecordLog::kChunk;
      const size_t to = std::min(RecordLog::kChunk, from + (end - i));
      for (size_t j = from; j < to; ++j) f(chunk[j]);
      i += to - from;
    }
  };
  std::vector<uint32_t>& first = scratch->first;  // 1 + the largest brand + 1 entries
  first.assign(1, 0);
  each_record([&first](const AudienceRecord& r) {
    if (r.brand + size_t{2} > first.size()) first.resize(r.brand + size_t{2}, 0);
    ++first[r.brand + 1];
  });
  for (size_t b = 1; b < first.size(); ++b) first[b] += first[b - 1];
  std::vector<AudienceRecord>& recs = scratch->recs;
  recs.resize(n_new);
  {
    std::vector<uint32_t>& next = scratch->next;
    next.assign(first.begin(), first.end() - 1);
    each_record([&](const AudienceRecord& r) { recs[next[r.brand]++] = r; });
  }

  auto copy_sketch = [&](const StepSummary& from, const Sketch& k) {
    Sketch c{k.platform, k.dense, 0, 0};
    if (k.dense) {
      c.begin = static_cast<uint32_t>(out->dense_.size());
      out->dense_.insert(out->dense_.end(), from.dense_.begin() + k.begin, from.dense_.begin() + k.end);
      c.end = static_cast<uint32_t>(out->dense_.size());
    } else {
      c.begin = static_cast<uint32_t>(out->sparse_.size());
      out->sparse_.insert(out->sparse_.end(), from.sparse_.begin() + k.begin,
                          from.sparse_.begin() + k.end);
      c.end = static_cast<uint32_t>(out->sparse_.size());
    }
    out->sketches_.push_back(c);
  };
  auto copy_brand = [&](const StepSummary& from, const Brand& b) {
    Brand c = b;
    c.top_begin = static_cast<uint32_t>(out->tops_.size());
    out->tops_.insert(out->tops_.end(), from.tops_.begin() + b.top_begin, from.tops_.begin() + b.top_end);
    c.top_end = static_cast<uint32_t>(out->tops_.size());
    c.sketch_begin = static_cast<uint32_t>(out->sketches_.size());
    for (uint32_t k = b.sketch_begin; k < b.sketch_end; ++k) copy_sketch(from, from.sketches_[k]);
    c.sketch_end = static_cast<uint32_t>(out->sketches_.size());
    out->brands_.push_back(c);
  };

  TopAuthors top;
  std::vector<uint64_t>& keys = scratch->keys;  // author << 32 | position; platform << 32 | entry

  // A brand new to the summary, in one pass without sorting: authors
  // grouped in a small hash table (entries in order of first event), each
  // author's fine register added once a platform (a platform bit mask per
  // author), then the entries bucketed by platform. False when the brand
  // has more distinct authors than the capacity (Space-Saving below then).
  std::vector<AuthorSlot>& table = scratch->table;
  std::vector<uint64_t>& pairs = scratch->pairs;  // platform << 32 | sparse entry
  std::vector<uint32_t>& per_platform = scratch->per_platform;
  std::vector<uint32_t>& next_platform = scratch->next_platform;
  auto fresh_brand = [&](const AudienceRecord* r, size_t n, Brand* nb) -> bool {
    size_t size = 16;
    while (size < 2 * n) size *= 2;
    if (table.size() < size) table.resize(size);
    std::memset(table.data(), 0, size * sizeof(AuthorSlot));  // all empty (a fill loop was slower)
    const size_t mask = size - 1;
    pairs.clear();
    // Entries a platform, counted as they come: count[p + 1] (zero between brands).
    uint32_t max_platform = 0;
    auto count_of = [&per_platform](uint32_t p) -> uint32_t& {
      if (p + 2 > per_platform.size()) per_platform.resize(p + 2, 0);
      return per_platform[p + 1];
    };
    const size_t top_begin = out->tops_.size();
    for (size_t i = 0; i < n; ++i) {
      const AudienceRecord& x = r[i];
      size_t h = (x.author * 2654435761u) & mask;
      while (table[h].author_plus_one != 0 && table[h].author_plus_one != x.author + 1) h = (h + 1) & mask;
      AuthorSlot& slot = table[h];
      if (slot.author_plus_one == 0) {
        if (out->tops_.size() - top_begin == capacity) {
          out->tops_.resize(top_begin);
          std::fill(per_platform.begin(), per_platform.end(), 0);
          return false;
        }
        slot = AuthorSlot{x.author + 1, static_cast<uint32_t>(out->tops_.size()), 0};
        out->tops_.push_back(TopEntry{x.author, 1, x.followers, x.time});
      } else {
        TopEntry& e = out->tops_[slot.entry];
        e.count = e.count == UINT32_MAX ? e.count : e.count + 1;
        if (x.time >= e.time) {  // in arrival order: the later one wins a tie
          e.time = x.time;
          e.followers = x.followers;
        }
      }
      if (x.platform < 64) {
        const uint64_t bit = uint64_t{1} << x.platform;
        if ((slot.platforms & bit) != 0) continue;
        slot.platforms |= bit;
      }
      pairs.push_back((static_cast<uint64_t>(x.platform) << 32) | x.hll);
      ++count_of(x.platform);
      max_platform = std::max(max_platform, x.platform);
    }
    nb->top_end = static_cast<uint32_t>(out->tops_.size());
    nb->error = 0;
    // Entries by platform (a counting sort: platforms are few), each
    // platform's in arrival order, placed straight at their sketch: its
    // range of sparse(), or its registers in dense().
    const uint32_t* count = per_platform.data() + 1;  // count[p]: platform p's entries
    next_platform.resize(std::max<size_t>(next_platform.size(), max_platform + 1));
    size_t sparse_end = out->sparse_.size();
    nb->sketch_begin = static_cast<uint32_t>(out->sketches_.size());
    for (uint32_t p = 0; p <= max_platform; ++p) {
      if (count[p] == 0) continue;
      // Entries of different authors that share a fine register stay
      // (1 in 2^25; a union takes the larger rank anyway).
      Sketch sk{p, count[p] > m / 4, 0, 0};
      if (sk.dense) {
        sk.begin = static_cast<uint32_t>(out->dense_.size());
        out->dense_.resize(out->dense_.size() + m, 0);
        sk.end = static_cast<uint32_t>(out->dense_.size());
      } else {
        sk.begin = static_cast<uint32_t>(sparse_end);
        sparse_end += count[p];
        sk.end = static_cast<uint32_t>(sparse_end);
      }
      next_platform[p] = sk.begin;
      out->sketches_.push_back(sk);
    }
    nb->sketch_end = static_cast<uint32_t>(out->sketches_.size());
    out->sparse_.resize(sparse_end);
    uint32_t* sparse = out->sparse_.data();
    for (uint64_t k : pairs) {
      const uint32_t p = static_cast<uint32_t>(k >> 32);
      if (count[p] > m / 4) {
        RaiseRegisters(out->dense_.data() + next_platform[p], &k, &k + 1, precision);
      } else {
        sparse[next_platform[p]++] = static_cast<uint32_t>(k);
      }
    }
    std::fill(per_platform.begin(), per_platform.begin() + max_platform + 2, 0);
    return true;
  };

  size_t pi = 0;
  const size_t prev_brands = prev != nullptr ? prev->brands_.size() : 0;
  for (uint32_t b = 0; b + 1 < first.size(); ++b) {
    if (first[b] == first[b + 1]) continue;
    while (pi < prev_brands && prev->brands_[pi].brand < b) copy_brand(*prev, prev->brands_[pi++]);
    const Brand* pb = pi < prev_brands && prev->brands_[pi].brand == b ? &prev->brands_[pi++] : nullptr;
    const AudienceRecord* r = recs.data() + first[b];
    const size_t n = first[b + 1] - first[b];
    Brand nb{b, 0, 0, 0, 0, 0, 0};
    nb.events = (pb != nullptr ? pb->events : 0) + n;
    nb.top_begin = static_cast<uint32_t>(out->tops_.size());
    if (pb == nullptr && fresh_brand(r, n, &nb)) {
      out->brands_.push_back(nb);
      continue;
    }

    // Top authors. With at most `capacity` entries and records together
    // (and an exact earlier summary), no author can be evicted: group by
    // author, keeping arrival order for the latest event. Else Space-Saving:
    // the earlier entries (weighted), then the records in arrival order.
    const size_t pn = pb != nullptr ? pb->top_end - pb->top_begin : 0;
    if (pn + n <= capacity && (pb == nullptr || pb->error == 0)) {
      keys.resize(n);
      for (size_t i = 0; i < n; ++i) keys[i] = (static_cast<uint64_t>(r[i].author) << 32) | i;
      std::sort(keys.begin(), keys.end());
      const TopEntry* p = pb != nullptr ? prev->tops_.data() + pb->top_begin : nullptr;
      const TopEntry* pe = p + pn;
      for (size_t i = 0; i < n;) {
        const uint32_t author = static_cast<uint32_t>(keys[i] >> 32);
        while (p != pe && p->author < author) out->tops_.push_back(*p++);
        TopEntry e{author, 0, 0, 0};
        if (p != pe && p->author == author) e = *p++;
        for (; i < n && static_cast<uint32_t>(keys[i] >> 32) == author; ++i) {
          const AudienceRecord& x = r[static_cast<uint32_t>(keys[i])];
          e.count = e.count == UINT32_MAX ? e.count : e.count + 1;
          if (x.time >= e.time) {  // in arrival order: the later one wins a tie
            e.time = x.time;
            e.followers = x.followers;
          }
        }
        out->tops_.push_back(e);
      }
      while (p != pe) out->tops_.push_back(*p++);
      nb.error = 0;
    } else {
      top = TopAuthors();
      top.Reserve(std::min<size_t>(capacity, n + pn));
      for (size_t k = 0; k < pn; ++k) {
        const TopEntry& e = prev->tops_[pb->top_begin + k];
        top.Add(e.author, e.followers, e.time, capacity, e.count);
      }
      for (size_t i = 0; i < n; ++i) top.Add(r[i].author, r[i].followers, r[i].time, capacity);
      out->tops_.insert(out->tops_.end(), top.entries().begin(), top.entries().end());
      std::sort(out->tops_.begin() + nb.top_begin, out->tops_.end(),
                [](const TopEntry& x, const TopEntry& y) { return x.author < y.author; });
      nb.error = (pb != nullptr ? pb->error : 0) + top.error_bound();
    }
    nb.top_end = static_cast<uint32_t>(out->tops_.size());

    // Sketches, platform by platform: the earlier sketch's entries and the
    // new ones, sorted; the largest rank of each fine register kept.
    keys.clear();
    for (size_t i = 0; i < n; ++i) keys.push_back((static_cast<uint64_t>(r[i].platform) << 32) | r[i].hll);
    const Sketch* pk = pb != nullptr ? prev->sketches_.data() + pb->sketch_begin : nullptr;
    const Sketch* pke = pb != nullptr ? prev->sketches_.data() + pb->sketch_end : nullptr;
    for (const Sketch* k = pk; k != pke; ++k) {
      if (k->dense) continue;  // merged register by register below
      for (uint32_t j = k->begin; j < k->end; ++j) {
        keys.push_back((static_cast<uint64_t>(k->platform) << 32) | prev->sparse_[j]);
      }
    }
    std::sort(keys.begin(), keys.end());
    auto prev_dense = [&](uint32_t platform) -> const Sketch* {
      for (const Sketch* k = pk; k != pke; ++k) {
        if (k->platform == platform && k->dense) return k;
      }
      return nullptr;
    };
    nb.sketch_begin = static_cast<uint32_t>(out->sketches_.size());
    for (size_t i = 0; i < keys.size();) {
      const uint32_t platform = static_cast<uint32_t>(keys[i] >> 32);
      size_t j = i;
      while (j < keys.size() && static_cast<uint32_t>(keys[j] >> 32) == platform) ++j;
      // Distinct fine registers in [i, j): the last of each run has the largest rank.
      size_t distinct = 0;
      for (size_t k = i; k < j; ++k) {
        distinct += k + 1 == j || HllSparseIndex(static_cast<uint32_t>(keys[k + 1])) !=
                                       HllSparseIndex(static_cast<uint32_t>(keys[k]));
      }
      const Sketch* dp = prev_dense(platform);
      Sketch sk{platform, dp != nullptr || distinct > m / 4, 0, 0};
      if (sk.dense) {
        sk.begin = static_cast<uint32_t>(out->dense_.size());
        if (dp != nullptr) {
          out->dense_.insert(out->dense_.end(), prev->dense_.begin() + dp->begin,
                             prev->dense_.begin() + dp->end);
        } else {
          out->dense_.resize(out->dense_.size() + m, 0);
        }
        RaiseRegisters(out->dense_.data() + sk.begin, keys.data() + i, keys.data() + j, precision);
        sk.end = static_cast<uint32_t>(out->dense_.size());
      } else {
        sk.begin = static_cast<uint32_t>(out->sparse_.size());
        for (size_t k = i; k < j; ++k) {
          if (k + 1 == j || HllSparseIndex(static_cast<uint32_t>(keys[k + 1])) !=
                                HllSparseIndex(static_cast<uint32_t>(keys[k]))) {
            out->sparse_.push_back(static_cast<uint32_t>(keys[k]));
          }
        }
        sk.end = static_cast<uint32_t>(out->sparse_.size());
      }
      out->sketches_.push_back(sk);
      i = j;
    }
    // Dense earlier sketches of platforms without new records.
    for (const Sketch* k = pk; k != pke; ++k) {
      if (!k->dense) continue;
      bool seen = false;
      for (uint32_t x = nb.sketch_begin; x < out->sketches_.size(); ++x) {
        seen |= out->sketches_[x].platform == k->platform;
      }
      if (!seen) copy_sketch(*prev, *k);
    }
    nb.sketch_end = static_cast<uint32_t>(out->sketches_.size());
    out->brands_.push_back(nb);
  }
  while (pi < prev_brands) copy_brand(*prev, prev->brands_[pi++]);
  auto result = std::make_shared<StepSummary>();
  result->precision_ = precision;
  result->records_ = (prev != nullptr ? prev->records_ : 0) + n_new;
  result->brands_.assign(out->brands_.begin(), out->brands_.end());
  result->tops_.assign(out->tops_.begin(), out->tops_.end());
  result->sketches_.assign(out->sketches_.begin(), out->sketches_.end());
  result->sparse_.assign(out->sparse_.begin(), out->sparse_.end());
  result->dense_.assign(out->dense_.begin(), out->dense_.end());
  // Keep the buffers of frequent small steps warm, not those of a rare big one.
  constexpr size_t kKeep = size_t{1} << 18;
  auto trim = [](auto& v) {
    if (v.capacity() > kKeep) std::remove_reference_t<decltype(v)>().swap(v);
  };
  trim(scratch->recs);
  trim(scratch->keys);
  trim(scratch->pairs);
  trim(scratch->table);
  trim(out->tops_);
  trim(out->sparse_);
  trim(out->dense_);
  return result;
}

std::shared_ptr<const StepSummary> StepSummary::Retain(const StepSummary& s,
                                                       const std::vector<bool>& keep) {
  auto out = std::make_shared<StepSummary>(s);
  std::vector<Brand> kept;
  for (const Brand& b : s.brands_) {
    if (b.brand < keep.size() && keep[b.brand]) kept.push_back(b);
  }
  out->brands_ = std::move(kept);  // the other brands' data stays until the step goes
  return out;
}

const StepSummary::Brand* StepSummary::Find(uint32_t brand) const {
  auto it = std::lower_bound(brands_.begin(), brands_.end(), brand,
                             [](const Brand& b, uint32_t id) { return b.brand < id; });
  return it != brands_.end() && it->brand == brand ? &*it : nullptr;
}

void StepSummary::MergeSketch(const Sketch& k, HllAccumulator* acc) const {
  if (k.dense) {
    const uint8_t* regs = dense_.data() + k.begin;
    const uint32_t m = k.end - k.begin;
    for (uint32_t i = 0; i < m; ++i) {
      if (regs[i] != 0) acc->AddDense(i, regs[i]);
    }
    return;
  }
  for (uint32_t j = k.begin; j < k.end; ++j) acc->AddSparse(sparse_[j]);
}

size_t StepSummary::MemoryBytes() const {
  return sizeof(*this) + brands_.capacity() * sizeof(Brand) + tops_.capacity() * sizeof(TopEntry) +
         sketches_.capacity() * sizeof(Sketch) + sparse_.capacity() * sizeof(uint32_t) +
         dense_.capacity();
}

// ---------------------------------------------------------------------------
// PartitionAudience

PartitionAudience::PartitionAudience(const std::vector<WindowSpec>& windows,
                                     const AudienceConfig& config,
                                     std::shared_ptr<StepSummary::Scratch> scratch)
    : scratch_(scratch != nullptr ? std::move(scratch) : StepSummary::NewScratch()),
      capacity_(static_cast<uint32_t>(config.top_authors_capacity)),
      precision_(config.hll_precision) {
  windows_.reserve(windows.size());
  for (const auto& w : windows) windows_.emplace_back(w);
}

PartitionAudience::~PartitionAudience() = default;

void PartitionAudience::Add(int64_t now_ms, int64_t event_ms, uint32_t brand, uint32_t platform,
                            uint32_t author, uint32_t hll, uint64_t followers) {
  const uint32_t f = followers > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(followers);
  for (Window& w : windows_) {
    const int64_t index = w.event_step(event_ms);
    if (index < w.now_step(now_ms) + 1 - w.per_window) continue;  // left the window
    if (index != w.last_index || w.last == nullptr) {
      Step& s = w.steps[index];
      if (s.log == nullptr) s.log = std::make_shared<RecordLog>();
      w.last = s.log.get();
      w.last_index = index;
    }
    const int64_t offset = event_ms - index * w.spec.step_ms;
    w.last->Append({brand, author, hll, f,
                    offset > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(offset), platform});
  }
}

void PartitionAudience::Summarize(Step* step) {
  const RecordLog::View log = step->log->Prefix();
  step->summary = StepSummary::Build(step->summary.get(), log, 0, log.size, capacity_, precision_,
                                     scratch_.get());
  step->log.reset();  // a reader may still hold it; nothing appends to it any more
}

void PartitionAudience::Expire(int64_t now_ms) {
  for (Window& w : windows_) {
    const int64_t current = FloorDiv(now_ms, w.spec.step_ms);
    const int64_t first = current + 1 - w.per_window;
    while (!w.steps.empty() && w.steps.begin()->first < first) {
      if (w.steps.begin()->first == w.last_index) {
        w.last = nullptr;
        w.last_index = INT64_MIN;
      }
      w.steps.erase(w.steps.begin());
    }
    // T has left these steps: summarize their logs, or fold a later log in
    // once it holds an eighth of what the summary does (out-of-order events
    // then cost a constant amount each, however they trickle in).
    for (auto it = w.steps.begin(); it != w.steps.end() && it->first < current; ++it) {
      Step& s = it->second;
      if (s.log == nullptr || s.log->size() == 0) continue;
      if (s.summary != nullptr && s.log->size() < std::max<size_t>(64, s.summary->records() / 8)) {
        continue;
      }
      if (it->first == w.last_index) {
        w.last = nullptr;
        w.last_index = INT64_MIN;
      }
      Summarize(&s);
    }
  }
}

void PartitionAudience::RetainBrands(const std::vector<bool>& keep) {
  auto dropped = [&keep](uint32_t brand) { return brand >= keep.size() || !keep[brand]; };
  for (Window& w : windows_) {
    for (auto& [index, s] : w.steps) {
      if (s.summary != nullptr) {
        bool any = false;
        for (const auto& b : s.summary->brands()) any |= dropped(b.brand);
        if (any) s.summary = StepSummary::Retain(*s.summary, keep);
      }
      if (s.log != nullptr) {
        const RecordLog::View v = s.log->Prefix();
        bool any = false;
        for (size_t i = 0; i < v.size && !any; ++i) any = dropped(v[i].brand);
        if (!any) continue;
        auto log = std::make_shared<RecordLog>();  // readers keep the old one
        for (size_t i = 0; i < v.size; ++i) {
          if (!dropped(v[i].brand)) log->Append(v[i]);
        }
        if (w.last == s.log.get()) w.last = log.get();
        s.log = std::move(log);
      }
    }
  }
}

void PartitionAudience::Collect(size_t w, int64_t now_ms, std::vector<StepRef>* out) const {
  const Window& win = windows_[w];
  const int64_t last = FloorDiv(now_ms, win.spec.step_ms);
  const int64_t first = last + 1 - win.per_window;
  for (auto it = win.steps.lower_bound(first); it != win.steps.end() && it->first <= last; ++it) {
    StepRef ref{it->first, it->second.summary, {}};
    if (it->second.log != nullptr) ref.log = it->second.log->Prefix();
    out->push_back(std::move(ref));
  }
}

size_t PartitionAudience::MemoryBytes() const {
  size_t bytes = 0;
  for (const Window& w : windows_) {
    for (const auto& [index, s] : w.steps) {
      if (s.summary != nullptr) bytes += s.summary->MemoryBytes();
      if (s.log != nullptr) bytes += s.log->MemoryBytes();
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// Audience

Audience::Audience(const AudienceConfig& config, const std::vector<WindowSpec>& windows)
    : config_(config), windows_(windows), scratch_(StepSummary::NewScratch()) {
  const WindowSpec* longest = &windows_.front();
  for (const auto& w : windows_) {
    if (w.size_ms > longest->size_ms) longest = &w;
  }
  // Authors linger at most a quarter of the longest window past their last
  // event; a sweep scans the table once per such period.
  sweep_every_ms_ = std::max(longest->step_ms, longest->size_ms / 4);
}

void Audience::Expire(int64_t now_ms) {
  // The earliest event time any window still covers.
  int64_t before = INT64_MAX;
  for (const auto& w : windows_) {
    before = std::min(before, (FloorDiv(now_ms, w.step_ms) + 1) * w.step_ms - w.size_ms);
  }
  if (before < next_sweep_ms_) return;
  // Pinned (a top-authors answer is being read): the next period sweeps.
  authors_.Sweep(before);
  next_sweep_ms_ = before + sweep_every_ms_;
}

// ---------------------------------------------------------------------------
// Merging, outside the lock

std::vector<uint64_t> UniqueAuthors(const std::vector<StepRef>& steps,
                                    const std::vector<bool>& want_brand, size_t platforms,
                                    int precision) {
  const size_t B = want_brand.size();
  const size_t stride = platforms + 1;
  std::vector<uint64_t> out(B * stride, 0);

  // The logged records (T's step, late arrivals) grouped by brand.
  std::vector<uint32_t> first(B + 1, 0);
  for (const StepRef& ref : steps) {
    for (size_t i = 0; i < ref.log.size; ++i) {
      const uint32_t b = ref.log[i].brand;
      if (b < B && want_brand[b]) ++first[b + 1];
    }
  }
  for (size_t b = 1; b <= B; ++b) first[b] += first[b - 1];
  std::vector<std::pair<uint32_t, uint32_t>> logged(first[B]);  // (platform, hll)
  {
    std::vector<uint32_t> next(first.begin(), first.end() - 1);
    for (const StepRef& ref : steps) {
      for (size_t i = 0; i < ref.log.size; ++i) {
        const AudienceRecord& r = ref.log[i];
        if (r.brand < B && want_brand[r.brand]) logged[next[r.brand]++] = {r.platform, r.hll};
      }
    }
  }

  std::vector<std::unique_ptr<HllAccumulator>> acc(platforms);
  std::vector<uint32_t> used;
  auto get = [&](uint32_t p) -> HllAccumulator* {
    if (acc[p] == nullptr) acc[p] = std::make_unique<HllAccumulator>(precision);
    if (acc[p]->empty()) used.push_back(p);
    return acc[p].get();
  };
  HllAccumulator all(precision);
  for (uint32_t b = 0; b < B; ++b) {
    if (!want_brand[b]) continue;
    for (const StepRef& ref : steps) {
      if (ref.summary == nullptr) continue;
      const StepSummary::Brand* brand = ref.summary->Find(b);
      if (brand == nullptr) continue;
      for (uint32_t k = brand->sketch_begin; k < brand->sketch_end; ++k) {
        const StepSummary::Sketch& s = ref.summary->sketches()[k];
        if (s.platform < platforms) ref.summary->MergeSketch(s, get(s.platform));
      }
    }
    for (uint32_t i = first[b]; i < first[b + 1]; ++i) {
      const auto& [p, e] = logged[i];
      if (p < platforms) get(p)->AddSparse(e);
    }
    if (used.empty()) continue;
    for (uint32_t p : used) {
      out[b * stride + p] = static_cast<uint64_t>(std::llround(acc[p]->Estimate()));
      all.Merge(*acc[p]);
      acc[p]->Clear();
    }
    out[b * stride + platforms] = static_cast<uint64_t>(std::llround(all.Estimate()));
    all.Clear();
    used.clear();
  }
  return out;
}

std::vector<TopAuthor> TopAuthorsOf(const std::vector<StepRef>& steps, uint32_t brand,
                                    TopAuthorsBy by, size_t n, const AuthorTable::View& view) {
  struct Agg {
    uint64_t mentions = 0;
    uint32_t followers = 0;
    uint32_t time = 0;
    int64_t step = INT64_MIN;
    const StepRef* from = nullptr;  // whose entry set followers
  };
  FlatMap<Agg> agg;
  // The latest event: by step, then time in the step. At the same instant,
  // within one partition's step (its summary, then its log, in arrival
  // order) the later arrival; across two partitions the larger followers,
  // so the answer is stable.
  auto add = [&agg](uint32_t author, uint32_t count, int64_t step, uint32_t time,
                    uint32_t followers, const StepRef* from) {
    Agg& a = agg[author];
    a.mentions += count;
    const bool tie_won = from == a.from || followers > a.followers;
    const bool later =
        step > a.step || (step == a.step && (time > a.time || (time == a.time && tie_won)));
    if (later) {
      a.step = step;
      a.time = time;
      a.followers = followers;
      a.from = from;
    }
  };
  for (const StepRef& ref : steps) {
    if (ref.summary != nullptr) {
      if (const StepSummary::Brand* b = ref.summary->Find(brand)) {
        for (uint32_t k = b->top_begin; k < b->top_end; ++k) {
          const TopEntry& e = ref.summary->tops()[k];
          add(e.author, e.count, ref.index, e.time, e.followers, &ref);
        }
      }
    }
    for (size_t i = 0; i < ref.log.size; ++i) {
      const AudienceRecord& r = ref.log[i];
      if (r.brand == brand) add(r.author, 1, ref.index, r.time, r.followers, &ref);
    }
  }
  std::vector<TopAuthor> all;
  all.reserve(agg.size());
  for (const auto& [author, a] : agg) {
    all.push_back({static_cast<uint32_t>(author), a.mentions, a.followers});
  }
  auto before = [&](const TopAuthor& x, const TopAuthor& y) {
    const uint64_t kx = by == TopAuthorsBy::kMentions ? x.mentions : x.followers;
    const uint64_t ky = by == TopAuthorsBy::kMentions ? y.mentions : y.followers;
    if (kx != ky) return kx > ky;
    const std::string_view ix = view.id(x.author);
    const std::string_view iy = view.id(y.author);
    if (ix != iy) return ix < iy;
    return x.author < y.author;  // two ids with the same first 256 bytes
  };
  const size_t k = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<long>(k), all.end(), before);
  all.resize(k);
  return all;
}

std::string TopAuthorsJson(const std::vector<TopAuthor>& authors, const AuthorTable::View& view) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> j(buf);
  auto str = [&j](std::string_view s) { WriteJsonString(j, s); };
  j.StartObject();
  j.Key("authors");
  j.StartArray();
  for (const TopAuthor& a : authors) {
    j.StartObject();
    j.Key("id");
    str(view.id(a.author));
    j.Key("handle");
    if (view.handle(a.author).empty()) j.Null();
    else str(view.handle(a.author));
    j.Key("mentions");
    j.Uint64(a.mentions);
    j.Key("followers");
    j.Uint64(a.followers);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace earshot
