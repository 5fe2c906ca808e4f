#pragma once
// Audience (docs/audience.md): how many different authors
// talked about each brand in a window, and who led.
//
// Per partition, per window and per step of it (as the window gauges keep
// their step buckets), a step holds for each brand with events there
//   - a HyperLogLog sketch of its authors per platform (sparse while small),
//   - a Space-Saving summary of its authors (TopAuthors, `capacity` a brand).
// A scrape unions the sketches of the steps inside the window (and of every
// platform, for platform="all"), and sums the summaries for the top authors.
//
// The hot path only appends a 24-byte record to its step's log (one per
// event, brand and window). A step that T has left is summarized from its
// log at once, brand by brand (a brand's summary and sketches stay in the
// cache while its records go in), into an immutable StepSummary; records
// arriving later for it (out of order) go to a new log, folded in when it
// reaches an eighth of the summary. T's own step stays a log: a scrape reads
// it as it reads summaries.
//
// Readers (a scrape, the API) take shared references to summaries and log
// prefixes under the processor's lock and merge outside it: summaries never
// change, and a log is only appended to (its chunks never move), so no copy
// is made and nothing is held during the merge.
//
// Authors are interned in an AuthorTable (64-bit hash of `author.id` -> a
// 4-byte reference, and the id and handle to show), a batch's authors in one
// prefetched pass, so a summary entry is 16 bytes whatever the id's length.
// An author leaves the table once no step of any window can hold it.
//
// Threading: the classes are guarded by the processor's state lock; the free
// functions that merge (UniqueAuthors, TopAuthorsOf) read shared steps and a
// pinned AuthorTable::View without it.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/prefetch.h"
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

// The authors of counted events: a 64-bit hash of `author.id` -> a 4-byte
// reference, the id and the latest handle (kept in a string arena), and
// when the author was last seen (for Sweep). Guarded by the processor's lock;
// a pinned View is read without it.
class AuthorTable {
 private:
  static constexpr size_t kChunk = 4096;      // records a chunk
  static constexpr int kArenaBits = 20;       // 1 MiB string chunks
  static constexpr uint32_t kArenaMask = (1u << kArenaBits) - 1;
  static constexpr size_t kArenaChunks = 4096;  // 4 GiB of strings addressable
  // An author's id and then handle, back to back in the string arena.
  struct Record {
    uint32_t at = 0;  // arena chunk << kArenaBits | offset
    uint16_t id_size = 0;
    uint16_t handle_size = 0;
  };

 public:
  // A read-only view of the authors, valid while pinned (see Pin()).
  class View {
   public:
    std::string_view id(uint32_t ref) const {
      const Record& r = At(ref);
      return {bytes_[r.at >> kArenaBits] + (r.at & kArenaMask), r.id_size};
    }
    // "" when the author has none.
    std::string_view handle(uint32_t ref) const {
      const Record& r = At(ref);
      return {bytes_[r.at >> kArenaBits] + (r.at & kArenaMask) + r.id_size, r.handle_size};
    }

   private:
    friend class AuthorTable;
    const Record& At(uint32_t ref) const { return records_[ref / kChunk][ref % kChunk]; }
    std::vector<const Record*> records_;
    std::vector<const char*> bytes_;
  };

  AuthorTable() = default;
  AuthorTable(const AuthorTable&) = delete;
  AuthorTable& operator=(const AuthorTable&) = delete;
  ~AuthorTable();

  void Prefetch(uint64_t hash) const {
    if (slots_ == nullptr) return;
    const Slot* home = &slots_[Home(Key(hash))];
    PrefetchForRead(home);
    PrefetchForRead(reinterpret_cast<const char*>(home) + 64);
  }
  // The author's reference (new ones are added), noting it was seen at
  // `event_ms` and, when that is its latest event, its handle. `id` and
  // `handle` are kept up to kMaxAuthorBytes.
  uint32_t Intern(uint64_t hash, std::string_view id, std::string_view handle, int64_t event_ms);
  // Forgets the authors last seen before `before_ms`, unless pinned, and
  // packs the strings of the others. Returns how many went.
  size_t Sweep(int64_t before_ms);
  size_t size() const { return size_; }
  size_t MemoryBytes() const;

  // While pinned, no record changes or goes (Intern leaves handles as they
  // are, Sweep does nothing): a view can be read without the lock.
  View Pin();
  void Unpin() { --pins_; }

 private:
  // Open addressing, linear probing, at most 3/4 full; key 0 = empty. The
  // slots are a random access an event into megabytes: they live in memory
  // mapped for transparent huge pages where the kernel allows it (with 4 KiB
  // pages nearly every lookup also missed the TLB, and its page walk stalled
  // the prefetch meant to hide the lookup).
  struct Slot {
    uint64_t key;
    uint32_t ref;
    uint32_t last_sec;     // latest event time seen, epoch seconds
    uint32_t handle_hash;  // of the record's handle
    // The latest event time seen with that handle, epoch seconds (in the
    // slot's padding: a repeat with the same handle moves it on without
    // touching the record).
    uint32_t handle_sec;
  };
  static_assert(sizeof(Slot) == 24, "handle_sec lives in what was padding");
  static uint64_t Key(uint64_t hash) { return hash == 0 ? 1 : hash; }
  size_t Home(uint64_t key) const {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 29;
    return static_cast<size_t>(key) & (capacity_ - 1);
  }
  Record& At(uint32_t ref) { return records_[ref / kChunk][ref % kChunk]; }
  // The slot of `key`, or the empty slot where it goes.
  Slot* Probe(uint64_t key);
  void Resize(size_t capacity);  // a power of two
  // Copies id and handle into `arena` (appending chunks); sets r's fields.
  static void Store(std::vector<std::unique_ptr<char[]>>* arena, size_t* used, std::string_view id,
                    std::string_view handle, Record* r);

  Slot* slots_ = nullptr;
  size_t capacity_ = 0;
  size_t size_ = 0;
  std::vector<std::unique_ptr<Record[]>> records_;
  std::vector<std::unique_ptr<char[]>> arena_;
  size_t arena_used_ = 0;       // bytes used in the last arena chunk
  uint32_t next_ = 0;           // references handed out so far (free ones aside)
  std::vector<uint32_t> free_;  // references of forgotten authors
  int pins_ = 0;
};

// The authors of one batch's events, interned together once the batch is
// decoded and matched: one pass over the table with its slots prefetched a
// few authors ahead (a table of a million authors is a cache and TLB miss
// an event; looked up one by one between decoding and matching, that miss
// stalled the pipeline). Not thread-safe; the pipeline thread's scratch.
class AuthorBatch {
 public:
  // Copies the author (id and handle cut to kMaxAuthorBytes); returns its
  // index in the batch.
  uint32_t Add(uint64_t hash, std::string_view id, std::string_view handle, int64_t event_ms);
  // Interns every author added since Clear(); then ref(i) is the i-th's reference.
  void Intern(AuthorTable* table);
  uint32_t ref(uint32_t i) const { return refs_[i]; }
  bool empty() const { return pending_.empty(); }
  void Clear();

 private:
  struct Pending {
    uint64_t hash;
    int64_t event_ms;
    uint32_t id_begin, id_size, handle_begin, handle_size;  // into bytes_
  };
  std::vector<Pending> pending_;
  std::string bytes_;
  std::vector<uint32_t> refs_;
};

// One event of a brand in a step, as the hot path logs it.
struct AudienceRecord {
  uint32_t brand;      // stable brand id
  uint32_t author;     // AuthorTable reference
  uint32_t hll;        // HllSparseEntry(hash of author.id)
  uint32_t followers;  // saturated at 2^32 - 1
  uint32_t time;       // ms since the step's start
  uint32_t platform;   // platform index
};

// Append-only, in chunks that never move: a reader keeps a prefix (shared
// chunk references and a length) while the writer appends past it.
class RecordLog {
 public:
  static constexpr size_t kChunk = 2048;  // records, 48 KiB
  using Chunk = std::array<AudienceRecord, kChunk>;
  struct View {
    std::vector<std::shared_ptr<const Chunk>> chunks;
    size_t size = 0;
    const AudienceRecord& operator[](size_t i) const { return (*chunks[i / kChunk])[i % kChunk]; }
  };

  void Append(const AudienceRecord& r) {
    // Not zeroed (48 KiB of memset a chunk): a record is written before size_ covers it.
    if (size_ % kChunk == 0) chunks_.push_back(std::make_shared_for_overwrite<Chunk>());
    (*chunks_.back())[size_ % kChunk] = r;
    ++size_;
  }
  size_t size() const { return size_; }
  View Prefix() const;
  size_t MemoryBytes() const { return chunks_.size() * sizeof(Chunk); }

 private:
  std::vector<std::shared_ptr<Chunk>> chunks_;
  size_t size_ = 0;
};

// The summaries and sketches of one step of one window of one partition,
// immutable once built.
class StepSummary {
 public:
  struct Brand {
    uint32_t brand;
    uint32_t top_begin, top_end;        // into tops(), sorted by author
    uint32_t sketch_begin, sketch_end;  // into sketches()
    uint32_t error;                     // TopAuthors::error_bound() (0: exact)
    uint64_t events;
  };
  struct Sketch {
    uint32_t platform;
    bool dense;
    uint32_t begin, end;  // into sparse() (entries sorted by index) or dense() (m registers)
  };

  // Working memory of Build, kept between calls (fresh buffers for every
  // step cost a page fault every few records).
  struct Scratch;
  static std::shared_ptr<Scratch> NewScratch();

  // `prev` (may be null) with the records `log[begin, end)` added, brand by
  // brand in arrival order. `scratch` may be null.
  static std::shared_ptr<const StepSummary> Build(const StepSummary* prev, const RecordLog::View& log,
                                                  size_t begin, size_t end, uint32_t capacity,
                                                  int precision, Scratch* scratch = nullptr);
  // `s` without the brands whose id is not kept.
  static std::shared_ptr<const StepSummary> Retain(const StepSummary& s,
                                                   const std::vector<bool>& keep);

  const Brand* Find(uint32_t brand) const;
  const std::vector<Brand>& brands() const { return brands_; }  // sorted by brand
  const std::vector<TopEntry>& tops() const { return tops_; }
  const std::vector<Sketch>& sketches() const { return sketches_; }
  const uint32_t* sparse() const { return sparse_.data(); }
  const uint8_t* dense() const { return dense_.data(); }
  // Records that went in (for when to fold a later log into it).
  size_t records() const { return records_; }
  // Unions sketch `k` into `acc`.
  void MergeSketch(const Sketch& k, HllAccumulator* acc) const;
  size_t MemoryBytes() const;

 private:
  std::vector<Brand> brands_;
  std::vector<TopEntry> tops_;
  std::vector<Sketch> sketches_;
  std::vector<uint32_t> sparse_;
  std::vector<uint8_t> dense_;
  size_t records_ = 0;
  int precision_ = 12;
};

// A step inside a window, for readers: its summary (may be null) and the
// records logged since (`index` is the step number, floor(time / step)).
struct StepRef {
  int64_t index;
  std::shared_ptr<const StepSummary> summary;
  RecordLog::View log;
};

// The steps of every window of one partition.
class PartitionAudience {
 public:
  // `scratch` (may be null: one of its own) is the working memory of
  // summaries, which partitions summarizing one at a time can share.
  PartitionAudience(const std::vector<WindowSpec>& windows, const AudienceConfig& config,
                    std::shared_ptr<StepSummary::Scratch> scratch = nullptr);
  ~PartitionAudience();

  // Logs an event of `brand` on `platform` at `event_ms` by `author`
  // (`hll`: its HllSparseEntry) in every window that still covers it at
  // `now_ms` (the rule of HoppingWindow::Add).
  void Add(int64_t now_ms, int64_t event_ms, uint32_t brand, uint32_t platform, uint32_t author,
           uint32_t hll, uint64_t followers);
  // Drops steps that left their window at `now_ms`; summarizes the logs of
  // steps T has left.
  void Expire(int64_t now_ms);
  void RetainBrands(const std::vector<bool>& keep_brand_id);
  // Appends the steps of window `w` inside it at `now_ms` (T's own included,
  // future ones not).
  void Collect(size_t w, int64_t now_ms, std::vector<StepRef>* out) const;
  size_t MemoryBytes() const;

 private:
  struct Step {
    std::shared_ptr<const StepSummary> summary;
    std::shared_ptr<RecordLog> log;
  };
  struct Window {
    explicit Window(const WindowSpec& s)
        : spec(s), per_window(s.size_ms / s.step_ms), event_step(s.step_ms), now_step(s.step_ms) {}
    WindowSpec spec;
    int64_t per_window;
    StepIndex event_step;
    StepIndex now_step;
    std::map<int64_t, Step> steps;
    int64_t last_index = INT64_MIN;
    RecordLog* last = nullptr;  // the log of step last_index
  };
  void Summarize(Step* step);

  std::vector<Window> windows_;
  std::shared_ptr<StepSummary::Scratch> scratch_;
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
    return std::make_unique<PartitionAudience>(windows_, config_, scratch_);
  }
  AuthorTable& authors() { return authors_; }
  // Forgets authors that no window can hold at `now_ms` (at most once a
  // quarter of the longest window).
  void Expire(int64_t now_ms);

 private:
  AudienceConfig config_;
  std::vector<WindowSpec> windows_;
  int64_t sweep_every_ms_;
  int64_t next_sweep_ms_ = INT64_MIN;
  AuthorTable authors_;
  // Shared by the partitions: they summarize one at a time, under the lock.
  std::shared_ptr<StepSummary::Scratch> scratch_;
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
