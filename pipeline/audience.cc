#include "pipeline/audience.h"

#include <algorithm>
#include <cmath>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "rules/normalizer.h"

namespace earshot {

std::string_view CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  // Back to the first byte of the character that straddles the cut.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// ---------------------------------------------------------------------------
// AuthorTable

uint32_t AuthorTable::Intern(uint64_t hash, std::string_view id, std::string_view handle,
                             int64_t event_ms) {
  const uint32_t sec =
      event_ms <= 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(event_ms / 1000, UINT32_MAX));
  const std::string_view shown = CutUtf8(handle, kMaxAuthorBytes);
  const uint32_t handle_hash = static_cast<uint32_t>(HashBytes(shown));
  auto [slot, inserted] = index_.Insert(Key(hash));
  Slot& s = slot->second;
  if (inserted) {
    uint32_t ref;
    if (!free_.empty()) {
      ref = free_.back();
      free_.pop_back();
    } else {
      ref = next_++;
      if (ref / kChunk >= chunks_.size()) chunks_.push_back(std::make_unique<Record[]>(kChunk));
    }
    Record& r = At(ref);
    r.id.assign(CutUtf8(id, kMaxAuthorBytes));
    r.handle.assign(shown);
    r.handle_ms = event_ms;
    s.ref = ref;
    s.last_sec = sec;
    s.handle_hash = handle_hash;
    return ref;
  }
  if (sec > s.last_sec) s.last_sec = sec;
  if (handle_hash != s.handle_hash && pins_ == 0) {
    Record& r = At(s.ref);
    if (event_ms >= r.handle_ms) {
      r.handle.assign(shown);
      r.handle_ms = event_ms;
      s.handle_hash = handle_hash;
    }
  }
  return s.ref;
}

size_t AuthorTable::Sweep(int64_t before_ms) {
  if (pins_ > 0) return 0;
  // Every event of the author before `before_ms`.
  auto gone = [before_ms](uint64_t, const Slot& s) {
    return (static_cast<int64_t>(s.last_sec) + 1) * 1000 <= before_ms;
  };
  std::vector<uint32_t> refs;
  for (const auto& [key, s] : index_) {
    if (gone(key, s)) refs.push_back(s.ref);
  }
  if (refs.empty()) return 0;
  index_.EraseIf(gone);
  for (uint32_t ref : refs) {
    Record& r = At(ref);
    std::string().swap(r.id);
    std::string().swap(r.handle);
    free_.push_back(ref);
  }
  return refs.size();
}

size_t AuthorTable::MemoryBytes() const {
  size_t bytes = chunks_.size() * kChunk * sizeof(Record) + free_.capacity() * sizeof(uint32_t);
  // Slots: a power of two at up to 3/4 load.
  size_t slots = 16;
  while (slots * 3 < index_.size() * 4) slots *= 2;
  bytes += slots * sizeof(std::pair<uint64_t, Slot>);
  for (const auto& chunk : chunks_) {
    for (size_t i = 0; i < kChunk; ++i) {
      if (chunk[i].id.capacity() > 15) bytes += chunk[i].id.capacity() + 1;
      if (chunk[i].handle.capacity() > 15) bytes += chunk[i].handle.capacity() + 1;
    }
  }
  return bytes;
}

AuthorTable::View AuthorTable::Pin() {
  ++pins_;
  View v;
  v.chunks_.reserve(chunks_.size());
  for (const auto& c : chunks_) v.chunks_.push_back(c.get());
  return v;
}

// ---------------------------------------------------------------------------
// StepAudience

const StepAudience::Brand* StepAudience::Find(uint32_t brand) const {
  auto it = index_.find(brand);
  return it == index_.end() ? nullptr : &brands_[it->second];
}

StepAudience::Brand& StepAudience::Get(uint32_t brand) {
  auto [slot, inserted] = index_.Insert(brand);
  if (inserted) {
    slot->second = static_cast<uint32_t>(brands_.size());
    brands_.emplace_back();
  }
  return brands_[slot->second];
}

void StepAudience::Compact() {
  for (auto& b : brands_) {
    b.top.Compact();
    for (auto& [platform, sketch] : b.platforms) sketch.ShrinkToFit();
    b.platforms.shrink_to_fit();
  }
  brands_.shrink_to_fit();
}

bool StepAudience::HasBrandOutside(const std::vector<bool>& keep) const {
  for (const auto& [brand, i] : index_) {
    if (brand >= keep.size() || !keep[brand]) return true;
  }
  return false;
}

bool StepAudience::RetainBrands(const std::vector<bool>& keep) {
  if (!HasBrandOutside(keep)) return false;
  FlatMap<uint32_t> index;
  std::vector<Brand> brands;
  for (const auto& [brand, i] : index_) {
    if (brand >= keep.size() || !keep[brand]) continue;
    index[brand] = static_cast<uint32_t>(brands.size());
    brands.push_back(std::move(brands_[i]));
  }
  index_ = std::move(index);
  brands_ = std::move(brands);
  return true;
}

size_t StepAudience::MemoryBytes() const {
  size_t bytes = sizeof(*this) + brands_.capacity() * sizeof(Brand);
  size_t slots = 16;
  while (slots * 3 < index_.size() * 4) slots *= 2;
  bytes += slots * sizeof(std::pair<uint64_t, uint32_t>);
  for (const auto& b : brands_) {
    bytes += b.top.MemoryBytes() + b.platforms.capacity() * sizeof(b.platforms[0]);
    for (const auto& [platform, sketch] : b.platforms) bytes += sketch.MemoryBytes();
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// PartitionAudience

PartitionAudience::PartitionAudience(const std::vector<WindowSpec>& windows,
                                     const AudienceConfig& config)
    : capacity_(static_cast<uint32_t>(config.top_authors_capacity)),
      precision_(config.hll_precision) {
  windows_.reserve(windows.size());
  for (const auto& w : windows) windows_.emplace_back(w);
}

StepAudience* PartitionAudience::Mutable(std::shared_ptr<StepAudience>* step) {
  // A reader (a scrape merging outside the lock) holds it: change a copy.
  if (step->use_count() > 1) *step = std::make_shared<StepAudience>(**step);
  return step->get();
}

void PartitionAudience::Add(int64_t now_ms, int64_t event_ms, uint32_t brand, uint32_t platform,
                            uint32_t author, uint64_t hash, uint64_t followers) {
  const uint32_t f = followers > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(followers);
  for (Window& w : windows_) {
    const int64_t index = w.event_step(event_ms);
    if (index < w.now_step(now_ms) + 1 - w.per_window) continue;  // left the window
    if (index != w.last_index || w.last == nullptr) {
      auto [it, inserted] = w.steps.try_emplace(index);
      if (inserted) it->second = std::make_shared<StepAudience>();
      w.last = &it->second;
      w.last_index = index;
    }
    StepAudience::Brand& b = Mutable(w.last)->Get(brand);
    const int64_t offset = event_ms - index * w.spec.step_ms;
    b.top.Add(author, f, offset > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(offset),
              capacity_);
    HyperLogLog* sketch = nullptr;
    for (auto& [p, s] : b.platforms) {
      if (p == platform) {
        sketch = &s;
        break;
      }
    }
    if (sketch == nullptr) sketch = &b.platforms.emplace_back(platform, HyperLogLog(precision_)).second;
    sketch->Add(hash);
  }
}

void PartitionAudience::Prefetch(int64_t event_ms, uint32_t brand) const {
  for (const Window& w : windows_) {
    if (w.last != nullptr &&
        static_cast<uint64_t>(event_ms) - static_cast<uint64_t>(w.last_index * w.spec.step_ms) <
            static_cast<uint64_t>(w.spec.step_ms)) {
      (*w.last)->Prefetch(brand);
    }
  }
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
    // Steps two or more behind T's take only stragglers: drop their indexes
    // and spare capacity (an Add rebuilds what it needs). A step a reader
    // holds is left for a later call.
    for (auto it = w.steps.lower_bound(w.compacted_until);
         it != w.steps.end() && it->first < current - 1; ++it) {
      if (it->second.use_count() > 1) break;
      it->second->Compact();
      w.compacted_until = it->first + 1;
    }
  }
}

void PartitionAudience::RetainBrands(const std::vector<bool>& keep) {
  for (Window& w : windows_) {
    for (auto& [index, step] : w.steps) {
      if (step->HasBrandOutside(keep)) Mutable(&step)->RetainBrands(keep);
    }
  }
}

void PartitionAudience::Collect(size_t w, int64_t now_ms, std::vector<StepRef>* out) const {
  const Window& win = windows_[w];
  const int64_t last = FloorDiv(now_ms, win.spec.step_ms);
  const int64_t first = last + 1 - win.per_window;
  for (auto it = win.steps.lower_bound(first); it != win.steps.end() && it->first <= last; ++it) {
    out->push_back({it->first, it->second});
  }
}

size_t PartitionAudience::MemoryBytes() const {
  size_t bytes = 0;
  for (const Window& w : windows_) {
    for (const auto& [index, step] : w.steps) bytes += step->MemoryBytes();
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// Audience

Audience::Audience(const AudienceConfig& config, const std::vector<WindowSpec>& windows)
    : config_(config), windows_(windows) {
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
  const size_t stride = platforms + 1;
  std::vector<uint64_t> out(want_brand.size() * stride, 0);
  std::vector<std::unique_ptr<HllAccumulator>> acc(platforms);
  std::vector<uint32_t> used;
  HllAccumulator all(precision);
  for (uint32_t b = 0; b < want_brand.size(); ++b) {
    if (!want_brand[b]) continue;
    for (const StepRef& ref : steps) {
      const StepAudience::Brand* brand = ref.step->Find(b);
      if (brand == nullptr) continue;
      for (const auto& [p, sketch] : brand->platforms) {
        if (p >= platforms) continue;
        if (acc[p] == nullptr) acc[p] = std::make_unique<HllAccumulator>(precision);
        if (acc[p]->empty()) used.push_back(p);
        sketch.MergeInto(acc[p].get());
      }
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
  };
  FlatMap<Agg> agg;
  for (const StepRef& ref : steps) {
    const StepAudience::Brand* b = ref.step->Find(brand);
    if (b == nullptr) continue;
    for (const TopEntry& e : b->top.entries()) {
      Agg& a = agg[e.author];
      a.mentions += e.count;
      // The latest event: by step, then time in the step; the same instant
      // in two partitions: the larger followers, so the answer is stable.
      if (ref.index > a.step || (ref.index == a.step && (e.time > a.time ||
                                                         (e.time == a.time && e.followers > a.followers)))) {
        a.step = ref.index;
        a.time = e.time;
        a.followers = e.followers;
      }
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
    const std::string& ix = view[x.author].id;
    const std::string& iy = view[y.author].id;
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
  auto str = [&j](const std::string& s) {
    const std::string valid = rules::ToValidUtf8(s);
    j.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
  };
  j.StartObject();
  j.Key("authors");
  j.StartArray();
  for (const TopAuthor& a : authors) {
    const AuthorTable::Record& r = view[a.author];
    j.StartObject();
    j.Key("id");
    str(r.id);
    j.Key("handle");
    if (r.handle.empty()) j.Null();
    else str(r.handle);
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
