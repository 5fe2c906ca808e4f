#include "connectors/file_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace earshot {
namespace {

namespace fs = std::filesystem;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("earshot_file_source_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content, bool append = false) {
    std::string path = (dir_ / name).string();
    std::ofstream out(path, append ? std::ios::binary | std::ios::app : std::ios::binary);
    out << content;
    return path;
  }

  std::unique_ptr<Source> Make(std::vector<std::string> paths, bool follow = false,
                               size_t max_line = 1 << 20) {
    FileSourceConfig config;
    config.paths = std::move(paths);
    config.follow = follow;
    auto source = MakeFileSource(config, max_line);
    EXPECT_TRUE(source.ok()) << source.message();
    auto s = std::move(source.value());
    Status st = s->Start(nullptr);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }

  struct Line {
    std::string payload;
    int32_t partition;
    int64_t offset;
    bool operator==(const Line& o) const {
      return payload == o.payload && partition == o.partition && offset == o.offset;
    }
  };

  // Polls until kEndOfInput; copies the records out right after each Poll.
  static std::vector<Line> Drain(Source* s, size_t max_records = 1000) {
    std::vector<Line> out;
    std::vector<Record> batch;
    for (int i = 0; i < 1000000; ++i) {
      batch.clear();
      PollStatus st = s->Poll(&batch, max_records, 1000);
      EXPECT_LE(batch.size(), max_records);
      for (const auto& r : batch) out.push_back({std::string(r.payload), r.partition, r.offset});
      if (st == PollStatus::kEndOfInput) {
        EXPECT_TRUE(batch.empty());
        return out;
      }
      EXPECT_EQ(st, PollStatus::kOk);
    }
    ADD_FAILURE() << "no end of input";
    return out;
  }

  // Polls a follower until `n` lines arrived or 10 s passed.
  static std::vector<Line> PollFor(Source* s, size_t n) {
    std::vector<Line> out;
    std::vector<Record> batch;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      batch.clear();
      EXPECT_EQ(s->Poll(&batch, 100, 50), PollStatus::kOk);
      for (const auto& r : batch) out.push_back({std::string(r.payload), r.partition, r.offset});
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(FileSourceTest, EveryLineIsARecordWithoutItsNewline) {
  std::string a = Write("a.jsonl", "{\"a\":1}\n\n{\"b\":2}\r\n  \nlast");
  auto s = Make({a});
  EXPECT_EQ(s->name(), "file");
  EXPECT_TRUE(s->Ready());
  auto lines = Drain(s.get());
  std::vector<Line> want = {
      {"{\"a\":1}", 0, 0}, {"", 0, 1}, {"{\"b\":2}", 0, 2}, {"  ", 0, 3}, {"last", 0, 4}};
  EXPECT_EQ(lines, want);
}

TEST_F(FileSourceTest, TrailingNewlineAddsNoEmptyRecord) {
  auto s = Make({Write("a.jsonl", "x\ny\n")});
  EXPECT_EQ(Drain(s.get()).size(), 2u);
  auto e = Make({Write("e.jsonl", "")});
  EXPECT_TRUE(Drain(e.get()).empty());
}

TEST_F(FileSourceTest, PartitionIsPathIndexFilesInOrder) {
  std::string a = Write("a.jsonl", "a0\na1\n");
  std::string b = Write("b.jsonl", "b0\nb1\nb2\n");
  auto s = Make({a, b});
  auto lines = Drain(s.get(), 2);
  std::vector<Line> want = {{"a0", 0, 0}, {"a1", 0, 1}, {"b0", 1, 0}, {"b1", 1, 1}, {"b2", 1, 2}};
  EXPECT_EQ(lines, want);
}

TEST_F(FileSourceTest, BatchesRespectMaxRecordsAndViewsStayValid) {
  std::string content;
  for (int i = 0; i < 10000; ++i) content += "line " + std::to_string(i) + "\n";
  auto s = Make({Write("a.jsonl", content)});
  std::vector<Record> batch;
  int64_t next = 0;
  while (true) {
    batch.clear();
    PollStatus st = s->Poll(&batch, 7, 1000);
    ASSERT_LE(batch.size(), 7u);
    // All views of a batch are valid together.
    for (const auto& r : batch) {
      EXPECT_EQ(r.offset, next);
      EXPECT_EQ(r.payload, "line " + std::to_string(next));
      ++next;
    }
    if (st == PollStatus::kEndOfInput) break;
  }
  EXPECT_EQ(next, 10000);
}

TEST_F(FileSourceTest, LongLinesAreTruncatedToMaxPlusOne) {
  std::string big(100, 'x');
  auto s = Make({Write("a.jsonl", "ok\n" + big + "\nafter\n" + big)}, false, 10);
  auto lines = Drain(s.get());
  std::vector<Line> want = {
      {"ok", 0, 0}, {std::string(11, 'x'), 0, 1}, {"after", 0, 2}, {std::string(11, 'x'), 0, 3}};
  EXPECT_EQ(lines, want);
}

TEST_F(FileSourceTest, HugeLineIsSkippedWithBoundedMemory) {
  // 12 MiB in one line is more than the buffer (max_line + 4 MiB), so the
  // rest of it must be skipped across several reads.
  std::string huge(12 << 20, 'y');
  auto s = Make({Write("a.jsonl", "first\n" + huge + "\nsecond\n")}, false, 1000);
  auto lines = Drain(s.get(), 1);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].payload, "first");
  EXPECT_EQ(lines[1].payload, std::string(1001, 'y'));
  EXPECT_EQ(lines[2], (Line{"second", 0, 2}));
}

TEST_F(FileSourceTest, LineOfExactlyMaxBytesWithCrLfIsWhole) {
  std::string line(10, 'z');
  auto s = Make({Write("a.jsonl", line + "\r\n" + line + "z\n")}, false, 10);
  auto lines = Drain(s.get());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].payload, line);
  EXPECT_EQ(lines[1].payload, line + "z");  // max + 1: the decoder says too_large
}

// Refused when the source is made (before the daemon listens, and by
// `earshot check`), and still by Start() if the file went away meanwhile.
TEST_F(FileSourceTest, MissingFileIsAnError) {
  FileSourceConfig config;
  config.paths = {(dir_ / "nope.jsonl").string()};
  auto missing = MakeFileSource(config, 1000);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("cannot open " + config.paths[0]), std::string::npos);

  config.paths = {(dir_ / "gone.jsonl").string()};
  std::ofstream(config.paths[0]) << "{}\n";
  auto s = MakeFileSource(config, 1000);
  ASSERT_TRUE(s.ok()) << s.message();
  std::filesystem::remove(config.paths[0]);
  Status st = (*s)->Start(nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("gone.jsonl"), std::string::npos);

  FileSourceConfig empty;
  EXPECT_FALSE(MakeFileSource(empty, 1000).ok());
  FileSourceConfig directory;
  directory.paths = {dir_.string()};
  auto dir = MakeFileSource(directory, 1000);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.message().find("is a directory"), std::string::npos);
  FileSourceConfig two_stdins;
  two_stdins.paths = {"-", "-"};
  EXPECT_FALSE(MakeFileSource(two_stdins, 1000).ok());
}

TEST_F(FileSourceTest, ListenerIsToldThePartitions) {
  struct Listener : PartitionListener {
    std::vector<PartitionKey> assigned;
    void OnAssigned(const std::vector<PartitionKey>& p) override { assigned = p; }
    void OnRevoked(const std::vector<PartitionKey>&) override {}
  } listener;
  FileSourceConfig config;
  config.paths = {Write("a", "1\n"), Write("b", "2\n")};
  auto s = std::move(MakeFileSource(config, 100).value());
  ASSERT_TRUE(s->Start(&listener).ok());
  Drain(s.get());
  ASSERT_EQ(listener.assigned.size(), 2u);
  EXPECT_EQ(listener.assigned[1].partition, 1);
}

TEST_F(FileSourceTest, StdinIsDash) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  int saved = ::dup(0);
  ASSERT_EQ(::dup2(fds[0], 0), 0);
  ::close(fds[0]);
  std::string data = "s0\ns1\ns2";
  ASSERT_EQ(::write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fds[1]);
  {
    auto s = Make({"-"});
    auto lines = Drain(s.get());
    std::vector<Line> want = {{"s0", 0, 0}, {"s1", 0, 1}, {"s2", 0, 2}};
    EXPECT_EQ(lines, want);
  }
  ::dup2(saved, 0);
  ::close(saved);
}

TEST_F(FileSourceTest, FollowTailsAppendedLines) {
  std::string a = Write("a.jsonl", "one\n");
  auto s = Make({a}, /*follow=*/true);
  auto got = PollFor(s.get(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "one");

  // Nothing new: Poll waits up to its timeout and returns kOk, empty.
  std::vector<Record> batch;
  EXPECT_EQ(s->Poll(&batch, 10, 0), PollStatus::kOk);
  EXPECT_TRUE(batch.empty());

  Write("a.jsonl", "two\nthr", /*append=*/true);
  got = PollFor(s.get(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Line{"two", 0, 1}));
  // A partial line waits for its newline.
  batch.clear();
  EXPECT_EQ(s->Poll(&batch, 10, 0), PollStatus::kOk);
  EXPECT_TRUE(batch.empty());
  Write("a.jsonl", "ee\n", true);
  got = PollFor(s.get(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (Line{"three", 0, 2}));
}

TEST_F(FileSourceTest, FollowRereadsATruncatedFile) {
  std::string a = Write("a.jsonl", "aaaaaaaaaa\nbbbbbbbbbb\n");
  auto s = Make({a}, true);
  ASSERT_EQ(PollFor(s.get(), 2).size(), 2u);
  Write("a.jsonl", "new\n");  // truncate and write less than before
  auto got = PollFor(s.get(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "new");
  EXPECT_EQ(got[0].offset, 2);  // offsets keep increasing
}

TEST_F(FileSourceTest, FollowReopensARotatedFile) {
  std::string a = Write("a.jsonl", "old1\n");
  auto s = Make({a}, true);
  ASSERT_EQ(PollFor(s.get(), 1).size(), 1u);
  // logrotate-style: more lines land in the old file, which is then renamed
  // away; a new file takes its path.
  Write("a.jsonl", "old2\nold3", true);
  fs::rename(a, dir_ / "a.jsonl.1");
  Write("a.jsonl", "new1\n");
  auto got = PollFor(s.get(), 3);
  std::vector<std::string> payloads;
  for (const auto& l : got) payloads.push_back(l.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"old2", "old3", "new1"}));
}

TEST_F(FileSourceTest, RequestStopEndsAWaitingPoll) {
  auto s = Make({Write("a.jsonl", "")}, true);
  std::vector<Record> batch;
  EXPECT_EQ(s->Poll(&batch, 10, 0), PollStatus::kOk);
  std::thread stopper([&] { s->RequestStop(); });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(s->Poll(&batch, 10, 60000), PollStatus::kOk);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  stopper.join();
  // Stays prompt after the stop.
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(s->Poll(&batch, 10, 60000), PollStatus::kOk);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  s->Close();
}

}  // namespace
}  // namespace earshot
