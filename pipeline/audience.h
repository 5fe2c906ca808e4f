#pragma once
// Audience (DESIGN section 12, docs/audience.md): how many different authors
// talked about each brand in a window, and who led.
//
// Per partition, per window and per step of it (as the window gauges keep
// their step buckets), one StepAudience holds for each brand with events
// there
//   - a HyperLogLog sketch of its authors per platform (sparse while small),
//   - a Space-Saving summary of its authors (TopAuthors).
// A scrape unions the sketches of the steps inside the window (and of every
// platform, for platform="all"), and sums the summaries for the top
// authors. Steps are shared with readers: a reader takes references under
// the processor's lock and merges outside it; the pipeline copies a step it
// must change while a reader still holds it (copy on write), which in
// practice is only T's own step, once per scrape.
//
// Authors are interned once in an AuthorTable (64-bit hash of `author.id`
// -> a 4-byte reference and the id and handle to show), so a summary entry is
// 16 bytes whatever the id's length. An author leaves the table once no step
// of any window can hold it.
//
// Threading: everything here is guarded by the processor's state lock,
// except the free functions that merge (UniqueAuthors, TopAuthorsOf), which
// read shared steps and a pinned AuthorView without it.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/config.h"
#include "pipeline/flat_map.h"
#include "pipeline/hyperloglog.h"
#include "pipeline/top_authors.h"
#include "pipeline/window_state.h"

namespace earshot {

inline constexpr uint32_t kNoAuthor = UINT32_MAX;
// Author ids and handles are shown (and kept) up to this many bytes; the
// whole id is hashed.
inline constexpr size_t kMaxAuthorBytes = 256;

// `s` cut to at most `max` bytes at a UTF-8 character boundary.
std::string_view CutUtf8(std::string_view s, size_t max);

class AuthorTable {
 public:
  struct Record {
    std::string id;      // at most kMaxAuthorBytes
    std::string handle;  // of the latest event seen; at most kMaxAuthorBytes
    int64_t handle_ms = 0;
  };
  // A read-only view of the records, valid while pinned (see Pin()).
  class View {
   public:
    const Record& operator[](uint32_t ref) const { return chunks_[ref / kChunk][ref % kChunk]; }

   private:
    friend class AuthorTable;
    std::vector<const Record*> chunks_;
  };

  AuthorTable() = default;
  AuthorTable(const AuthorTable&) = delete;
  AuthorTable& operator=(const AuthorTable&) = delete;

  void Prefetch(uint64_t hash) const { index_.Prefetch(Key(hash)); }
  // The author's reference (new ones are added), noting it was seen at
  // `event_ms` and, when that is its latest event, its handle.
  uint32_t Intern(uint64_t hash, std::string_view id, std::string_view handle, int64_t event_ms);
  // Forgets the authors last seen before `before_ms`, unless pinned. Returns
  // how many went.
  size_t Sweep(int64_t before_ms);
  size_t size() const { return index_.size(); }
  size_t MemoryBytes() const;

  // While pinned, no record changes or goes (Intern leaves handles as they
  // are, Sweep does nothing): a view can be read without the lock.
  View Pin();
  void Unpin() { --pins_; }

 private:
  static constexpr size_t kChunk = 4096;
  struct Slot {
    uint32_t ref = 0;
    uint32_t last_sec = 0;     // latest event time seen, epoch seconds
    uint32_t handle_hash = 0;  // of the record's handle
  };
  static uint64_t Key(uint64_t hash) { return hash == FlatMap<Slot>::kEmpty ? 0 : hash; }
  Record& At(uint32_t ref) { return chunks_[ref / kChunk][ref % kChunk]; }

  FlatMap<Slot> index_;  // Key(hash of the full id) -> slot
  std::vector<std::unique_ptr<Record[]>> chunks_;
  uint32_t next_ = 0;           // references handed out so far (free ones aside)
  std::vector<uint32_t> free_;  // references of forgotten authors
  int pins_ = 0;
};

// One step of one window of one partition.
class StepAudience {
 public:
  struct Brand {
    TopAuthors top;
    // (platform index, sketch), in order of first event.
    std::vector<std::pair<uint32_t, HyperLogLog>> platforms;
  };

  const Brand* Find(uint32_t brand) const;
  Brand& Get(uint32_t brand);
  void Prefetch(uint32_t brand) const { index_.Prefetch(brand); }
  // For a step that takes few events any more: drops indexes and spare capacity.
  void Compact();
  // Removes brands whose id is not kept; returns whether any was removed.
  bool RetainBrands(const std::vector<bool>& keep);
  bool HasBrandOutside(const std::vector<bool>& keep) const;
  size_t brand_count() const { return brands_.size(); }
  size_t MemoryBytes() const;

 private:
  FlatMap<uint32_t> index_;  // brand id -> index into brands_
  std::vector<Brand> brands_;
};

// A step inside a window, for readers: `index` is the step number
// (floor(event time / step)).
struct StepRef {
  int64_t index;
  std::shared_ptr<const StepAudience> step;
};

// The steps of every window of one partition.
class PartitionAudience {
 public:
  PartitionAudience(const std::vector<WindowSpec>& windows, const AudienceConfig& config);

  // Counts an event of `author` (its hash `hash`) for `brand` on `platform`
  // at `event_ms`, in every window that still covers it at `now_ms` (the
  // rule of HoppingWindow::Add).
  void Add(int64_t now_ms, int64_t event_ms, uint32_t brand, uint32_t platform, uint32_t author,
           uint64_t hash, uint64_t followers);
  // Cache hint for a coming Add of `brand` at `event_ms` (newest steps only).
  void Prefetch(int64_t event_ms, uint32_t brand) const;
  // Drops steps that left their window at `now_ms`; compacts steps two or
  // more behind T's.
  void Expire(int64_t now_ms);
  void RetainBrands(const std::vector<bool>& keep_brand_id);
  // Appends the steps of window `w` inside it at `now_ms` (T's own included,
  // future ones not).
  void Collect(size_t w, int64_t now_ms, std::vector<StepRef>* out) const;
  size_t MemoryBytes() const;

 private:
  struct Window {
    explicit Window(const WindowSpec& s)
        : spec(s), per_window(s.size_ms / s.step_ms), event_step(s.step_ms), now_step(s.step_ms) {}
    WindowSpec spec;
    int64_t per_window;
    StepIndex event_step;
    StepIndex now_step;
    std::map<int64_t, std::shared_ptr<StepAudience>> steps;
    int64_t last_index = INT64_MIN;
    std::shared_ptr<StepAudience>* last = nullptr;  // map nodes do not move
    int64_t compacted_until = INT64_MIN;            // steps below it were compacted
  };
  // The step for writing: a copy when a reader holds it.
  static StepAudience* Mutable(std::shared_ptr<StepAudience>* step);

  std::vector<Window> windows_;
  uint32_t capacity_;
  int precision_;
};

// The processor-wide part: configuration, authors, and when to forget them.
// Guarded by the processor's state lock.
class Audience {
 public:
  Audience(const AudienceConfig& config, const std::vector<WindowSpec>& windows);

  const AudienceConfig& config() const { return config_; }
  std::unique_ptr<PartitionAudience> NewPartition() const {
    return std::make_unique<PartitionAudience>(windows_, config_);
  }
  AuthorTable& authors() { return authors_; }
  // Forgets authors that no window can hold at `now_ms` (at most once a step
  // of the longest window).
  void Expire(int64_t now_ms);

 private:
  AudienceConfig config_;
  std::vector<WindowSpec> windows_;
  int64_t sweep_every_ms_;
  int64_t next_sweep_ms_ = INT64_MIN;
  AuthorTable authors_;
};

// Unique authors of window steps `steps` (any partitions), outside the lock.
// Returns [brand * (platforms + 1) + platform], platform == platforms being
// all platforms together, for the brands with want_brand[brand] set (0 for
// the others).
std::vector<uint64_t> UniqueAuthors(const std::vector<StepRef>& steps,
                                    const std::vector<bool>& want_brand, size_t platforms,
                                    int precision);

enum class TopAuthorsBy { kMentions, kReach };

struct TopAuthor {
  uint32_t author;     // reference into the AuthorTable
  uint64_t mentions;   // events of the brand in the window
  uint64_t followers;  // of the author's latest event among them
};

// The first `n` authors of `brand` in `steps` by mentions or by followers,
// descending, ties by id (read through `view`), outside the lock.
std::vector<TopAuthor> TopAuthorsOf(const std::vector<StepRef>& steps, uint32_t brand,
                                    TopAuthorsBy by, size_t n, const AuthorTable::View& view);
// The body of /api/v1/top-authors: {"authors": [{"id", "handle", "mentions",
// "followers"}]} (handle null when the author has none).
std::string TopAuthorsJson(const std::vector<TopAuthor>& authors, const AuthorTable::View& view);

}  // namespace earshot
