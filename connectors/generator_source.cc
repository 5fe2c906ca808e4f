// The synthetic generator as a Source (see generator_source.h).
//
// Rate limiting is a token bucket on the injected clock: `rate` tokens per
// second of clock time, at most one second's worth banked, so a stalled
// pipeline is not flooded afterwards. With a FakeClock, tests advance the
// clock and Poll(timeout 0) hands out exactly what the elapsed time allows.
// While no token is due, Poll waits on a condition variable (real time, at
// most until the next token or the timeout) and RequestStop() wakes it.
//
// Payloads live in one arena string that is cleared at the start of each
// Poll (views stay valid until the next Poll); its capacity is reused, so a
// steady-state Poll allocates nothing.
#include "connectors/generator_source.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>

#include "connectors/synth.h"

namespace earshot {
namespace {

class GeneratorSource : public Source {
 public:
  GeneratorSource(const GeneratorConfig& config, const Clock* clock)
      : config_(config), clock_(clock), synth_(MakeEventSynthesizer(config.seed)) {}

  std::string_view name() const override { return "generator"; }

  Status Start(PartitionListener* listener) override {
    listener_ = listener;
    last_ms_ = clock_->NowMillis();
    tokens_ = 0;
    ready_.store(true);
    return Status::Ok();
  }

  PollStatus Poll(std::vector<Record>* batch, size_t max_records, int timeout_ms) override {
    if (!announced_) {
      announced_ = true;
      if (listener_ != nullptr) listener_->OnAssigned({PartitionKey{"", 0}});
    }
    arena_.clear();
    ends_.clear();
    if (Exhausted()) return PollStatus::kEndOfInput;

    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
    size_t n = 0;
    int64_t now = 0;
    while (true) {
      now = clock_->NowMillis();
      n = std::min(max_records, Allowance(now));
      if (n > 0 || stop_.load(std::memory_order_relaxed)) break;
      auto real_now = std::chrono::steady_clock::now();
      if (real_now >= deadline) break;
      // Sleep until the next token is due on the clock (a FakeClock does not
      // move while we sleep: the timeout bounds the wait then).
      double wait_ms = std::ceil((1.0 - tokens_) * 1000.0 / config_.rate);
      auto wake = std::min(deadline, real_now + std::chrono::milliseconds(
                                                    static_cast<int64_t>(std::max(1.0, wait_ms))));
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, wake, [&] { return stop_.load(std::memory_order_relaxed); });
    }
    if (n == 0) return PollStatus::kOk;

    if (config_.rate > 0) tokens_ -= static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) {
      synth_->Next(now, &arena_);
      ends_.push_back(arena_.size());
    }
    size_t begin = 0;
    for (size_t i = 0; i < n; ++i) {
      Record r;
      r.payload = std::string_view(arena_.data() + begin, ends_[i] - begin);
      r.partition = 0;
      r.offset = next_offset_++;
      r.timestamp_ms = now;
      batch->push_back(r);
      begin = ends_[i];
    }
    return PollStatus::kOk;
  }

  void Commit(const std::vector<Record>& batch) override {}
  bool Ready() const override { return ready_.load(); }

  void RequestStop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    cv_.notify_all();
  }

  void Close() override { ready_.store(false); }

 private:
  bool Exhausted() const { return config_.count > 0 && next_offset_ >= config_.count; }

  // How many events may be produced now: refills the bucket by the clock
  // time since the last call, bounded by the count limit.
  size_t Allowance(int64_t now) {
    size_t left = SIZE_MAX;
    if (config_.count > 0) left = static_cast<size_t>(config_.count - next_offset_);
    if (config_.rate <= 0) return left;
    if (now > last_ms_) {
      tokens_ += static_cast<double>(now - last_ms_) * config_.rate / 1000.0;
      tokens_ = std::min(tokens_, std::max(1.0, config_.rate));
    }
    last_ms_ = std::max(last_ms_, now);  // a clock stepping back adds nothing
    if (tokens_ < 1.0) return 0;
    return std::min(left, static_cast<size_t>(tokens_));
  }

  GeneratorConfig config_;
  const Clock* clock_;
  std::unique_ptr<EventSynthesizer> synth_;
  PartitionListener* listener_ = nullptr;
  bool announced_ = false;
  std::string arena_;
  std::vector<size_t> ends_;
  int64_t next_offset_ = 0;
  int64_t last_ms_ = 0;
  double tokens_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
};

}  // namespace

StatusOr<std::unique_ptr<Source>> MakeGeneratorSource(const GeneratorConfig& config,
                                                      const Clock* clock) {
  if (clock == nullptr) return Status::Error("generator: no clock");
  if (!(config.rate >= 0) || std::isinf(config.rate)) {
    return Status::Error("generator: rate must be a finite number >= 0");
  }
  if (config.count < 0) return Status::Error("generator: count must be >= 0");
  return std::unique_ptr<Source>(new GeneratorSource(config, clock));
}

}  // namespace earshot
