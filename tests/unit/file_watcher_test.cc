// FileWatcher (connectors/file_watcher.h): an in-place write, a rename-style
// save and a new file in a watched directory each call on_change once
// things have been quiet for the debounce; Stop() stops the calls. Waits
// are condition variables with deadlines, never sleeps.
#include "connectors/file_watcher.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace earshot {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kDebounceMs = 100;
constexpr auto kDeadline = std::chrono::seconds(10);

// Records the time of every on_change call and lets the test wait for them.
class Calls {
 public:
  std::function<void()> Callback() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu_);
      times_.push_back(Clock::now());
      cv_.notify_all();
    };
  }
  // Waits until there have been at least n calls; false at the deadline.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return times_.size() >= n; });
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return times_.size();
  }
  Clock::time_point at(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return times_.at(i);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Clock::time_point> times_;
};

class FileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("earshot_file_watcher_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
    std::ofstream(dir_ / "rules" / "a.yaml") << "v1\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<FileWatcher> Watch(const std::vector<std::string>& paths,
                                     int debounce_ms = kDebounceMs) {
    debounce_ms_ = debounce_ms;
    auto w = WatchPaths(paths, debounce_ms, calls_.Callback());
    EXPECT_TRUE(w.ok()) << w.message();
    return w.ok() ? std::move(w).value() : nullptr;
  }

  // The change `act` makes is reported once, no earlier than the debounce
  // after it.
  void ExpectOneCallAfterDebounce(const std::function<void()>& act) {
    size_t before = calls_.count();
    auto t0 = Clock::now();
    act();
    ASSERT_TRUE(calls_.WaitFor(before + 1)) << "no on_change within the deadline";
    EXPECT_GE(calls_.at(before) - t0, milliseconds(debounce_ms_));
  }

  fs::path dir_;
  int debounce_ms_ = kDebounceMs;
  Calls calls_;
};

TEST_F(FileWatcherTest, AnInPlaceWriteFiresAfterTheDebounce) {
  auto w = Watch({(dir_ / "rules").string()});
  ASSERT_NE(w, nullptr);
  ExpectOneCallAfterDebounce([&] { std::ofstream(dir_ / "rules" / "a.yaml") << "v2\n"; });
  w->Stop();
  EXPECT_EQ(calls_.count(), 1u);
}

TEST_F(FileWatcherTest, ARenameStyleSaveFires) {
  // The file itself is named: its directory is watched, so the rename of a
  // temp file over it (a new inode) is seen.
  auto w = Watch({(dir_ / "rules" / "a.yaml").string()});
  ASSERT_NE(w, nullptr);
  ExpectOneCallAfterDebounce([&] {
    std::ofstream(dir_ / "rules" / ".a.yaml.swp") << "v2\n";
    fs::rename(dir_ / "rules" / ".a.yaml.swp", dir_ / "rules" / "a.yaml");
  });
  // And again: the watch survived the replacement of the file.
  ExpectOneCallAfterDebounce([&] {
    std::ofstream(dir_ / "rules" / ".a.yaml.swp") << "v3\n";
    fs::rename(dir_ / "rules" / ".a.yaml.swp", dir_ / "rules" / "a.yaml");
  });
  w->Stop();
  EXPECT_EQ(calls_.count(), 2u);
}

TEST_F(FileWatcherTest, ANewFileInAWatchedDirectoryFires) {
  auto w = Watch({(dir_ / "rules").string()});
  ASSERT_NE(w, nullptr);
  ExpectOneCallAfterDebounce([&] { std::ofstream(dir_ / "rules" / "b.yaml") << "new\n"; });
  ExpectOneCallAfterDebounce([&] { fs::remove(dir_ / "rules" / "b.yaml"); });
  w->Stop();
  EXPECT_EQ(calls_.count(), 2u);
}

TEST_F(FileWatcherTest, ABurstOfChangesIsOneCall) {
  // A longer debounce, so that the 20 writes surely come within one.
  auto w = Watch({(dir_ / "rules").string()}, 500);
  ASSERT_NE(w, nullptr);
  ExpectOneCallAfterDebounce([&] {
    for (int i = 0; i < 20; ++i) std::ofstream(dir_ / "rules" / "a.yaml") << "v" << i << "\n";
  });
  // A later, separate change is the second call: the first burst made
  // exactly one, which is what the count checks once the watcher stops.
  ExpectOneCallAfterDebounce([&] { std::ofstream(dir_ / "rules" / "c.yaml") << "c\n"; });
  w->Stop();
  EXPECT_EQ(calls_.count(), 2u);
}

TEST_F(FileWatcherTest, StopStopsTheCallsAndIsIdempotent) {
  auto w = Watch({(dir_ / "rules").string()});
  ASSERT_NE(w, nullptr);
  ExpectOneCallAfterDebounce([&] { std::ofstream(dir_ / "rules" / "a.yaml") << "v2\n"; });
  // A change pending when Stop() is called is dropped, and Stop() joins the
  // thread: no call can come after it returns.
  std::ofstream(dir_ / "rules" / "a.yaml") << "v3\n";
  w->Stop();
  size_t after_stop = calls_.count();
  EXPECT_LE(after_stop, 2u);
  for (int i = 0; i < 5; ++i) std::ofstream(dir_ / "rules" / "a.yaml") << "v" << i << "\n";
  // A second watcher on the same directory is the witness that the writes
  // above were seen by inotify and debounced: once it has fired, the stopped
  // watcher would have too.
  Calls witness;
  auto w2 = WatchPaths({(dir_ / "rules").string()}, kDebounceMs, witness.Callback());
  ASSERT_TRUE(w2.ok()) << w2.message();
  std::ofstream(dir_ / "rules" / "a.yaml") << "v9\n";
  ASSERT_TRUE(witness.WaitFor(1));
  EXPECT_EQ(calls_.count(), after_stop);
  w->Stop();  // idempotent
  std::move(w2).value()->Stop();
  w.reset();  // the destructor after Stop() is fine too
  EXPECT_EQ(calls_.count(), after_stop);
}

// Only the watched paths count: another file next to a named one (a log
// the daemon writes there would reload it for ever), and in a named
// directory the entries the filter declines (notes, editors' swap files).
// A witness watcher without a filter, on the same directory and with a
// longer debounce, shows that inotify saw those writes: by the time it
// fires, the filtered watchers would have too.
TEST_F(FileWatcherTest, ChangesToOtherFilesDoNotFire) {
  auto named = Watch({(dir_ / "rules" / "a.yaml").string()});
  Calls in_dir;
  auto rule_file = [](const std::string& name) {
    return name.ends_with(".yaml") && name[0] != '.';
  };
  auto dir = WatchPaths({(dir_ / "rules").string()}, kDebounceMs, in_dir.Callback(), rule_file);
  ASSERT_NE(named, nullptr);
  ASSERT_TRUE(dir.ok()) << dir.message();
  Calls witness;
  auto w2 = WatchPaths({(dir_ / "rules").string()}, 5 * kDebounceMs, witness.Callback());
  ASSERT_TRUE(w2.ok()) << w2.message();
  std::ofstream(dir_ / "rules" / "earshot.log") << "rules: loaded\n";
  std::ofstream(dir_ / "rules" / ".b.yaml.swp") << "x\n";
  ASSERT_TRUE(witness.WaitFor(1));
  EXPECT_EQ(calls_.count(), 0u);
  EXPECT_EQ(in_dir.count(), 0u);
  // A new rule file counts for the directory, not for the named file.
  std::ofstream(dir_ / "rules" / "b.yaml") << "b\n";
  ASSERT_TRUE(in_dir.WaitFor(1));
  ASSERT_TRUE(witness.WaitFor(2));
  EXPECT_EQ(calls_.count(), 0u);
  // The named file counts for both.
  ExpectOneCallAfterDebounce([&] { std::ofstream(dir_ / "rules" / "a.yaml") << "v2\n"; });
  ASSERT_TRUE(in_dir.WaitFor(2));
  named->Stop();
  std::move(dir).value()->Stop();
  std::move(w2).value()->Stop();
  EXPECT_EQ(calls_.count(), 1u);
  EXPECT_EQ(in_dir.count(), 2u);
}

TEST_F(FileWatcherTest, AMissingDirectoryIsAnError) {
  // A file is watched through its directory, which must exist.
  auto w = WatchPaths({(dir_ / "nope" / "a.yaml").string()}, kDebounceMs, calls_.Callback());
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.message().find("cannot watch " + (dir_ / "nope").string()), std::string::npos)
      << w.message();
}

}  // namespace
}  // namespace earshot
