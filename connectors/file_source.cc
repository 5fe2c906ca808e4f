// JSONL files as a Source (see file_source.h).
//
// Each file has one fixed buffer, allocated on open: read() fills it in large
// chunks and memchr() finds the line ends, so records are views into the
// buffer and a steady-state Poll allocates nothing. Record views must stay
// valid until the next Poll, so the buffer is only compacted (its unconsumed
// tail moved to the front) at the start of a Poll, or while no record of this
// Poll points into it. The buffer holds max_line_bytes + 1 bytes of a partial
// line plus one read chunk, so an over-long line can always be detected and
// truncated without growing it.
//
// Waiting (follow mode, or a pipe on stdin) uses poll(2) on the input and on
// a self-pipe that RequestStop() writes to, so a stop request ends the wait
// at once and the loop never spins.
#include "connectors/file_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace earshot {
namespace {

// One read() of up to 256 KiB, and at most one a Poll once lines are in
// hand: a batch's bytes then are still in the cache when they are decoded
// (the kernel's copy into a 4 MiB buffer went to memory, and was a tenth of
// a replay).
constexpr size_t kReadChunk = 256 << 10;
// How often a follower looks at its files again while waiting: appended data
// and rotations are found by polling the files, not by inotify, so this is
// the worst-case latency of a tailed line.
constexpr int kFollowPollMs = 50;

std::string ErrnoText(int err) { return std::strerror(err); }

// Opens an input ("-": stdin) and stats it; a directory is an error.
StatusOr<int> OpenInput(const std::string& path, struct stat* st) {
  int fd = 0;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error("file source: cannot open " + path + ": " + ErrnoText(errno));
  }
  Status error;
  if (::fstat(fd, st) != 0) {
    error = Status::Error("file source: cannot stat " + path + ": " + ErrnoText(errno));
  } else if (S_ISDIR(st->st_mode)) {
    error = Status::Error("file source: " + path + " is a directory");
  }
  if (error.ok()) return fd;
  if (fd != 0) ::close(fd);
  return error;
}

struct InputFile {
  std::string path;
  int32_t partition = 0;
  int fd = -1;
  bool is_stdin = false;
  bool regular = false;  // regular file: read() never blocks
  dev_t dev = 0;
  ino_t ino = 0;
  off_t pos = 0;  // bytes read from the current fd
  std::unique_ptr<char[]> buf;
  size_t cap = 0;
  size_t begin = 0;  // first unconsumed byte
  size_t end = 0;    // end of valid data
  size_t scanned = 0;  // bytes in [begin, scanned) hold no '\n'
  bool skipping = false;  // discarding the rest of an over-long line
  bool eof = false;       // drained (non-follow), or stdin closed
  bool emitted = false;   // a record of the current Poll points into buf
  bool failed = false;    // read error: ended
  int64_t line = 0;       // next line number (offset)
};

class FileSource : public Source {
 public:
  FileSource(const FileSourceConfig& config, size_t max_line_bytes)
      : config_(config), max_line_(max_line_bytes) {}

  ~FileSource() override { Close(); }

  std::string_view name() const override { return "file"; }

  Status Start(PartitionListener* listener) override {
    if (config_.paths.empty()) return Status::Error("file source: no paths configured");
    if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
      return Status::Error("file source: pipe: " + ErrnoText(errno));
    }
    for (size_t i = 0; i < config_.paths.size(); ++i) {  // "-" at most once: MakeFileSource
      InputFile f;
      f.path = config_.paths[i];
      f.partition = static_cast<int32_t>(i);
      f.is_stdin = f.path == "-";
      files_.push_back(std::move(f));
      InputFile& g = files_.back();
      g.cap = max_line_ + 2 + kReadChunk;
      g.buf.reset(new char[g.cap]);
      if (Status s = Open(&g); !s.ok()) return s;
    }
    listener_ = listener;
    ready_.store(true);
    return Status::Ok();
  }

  PollStatus Poll(std::vector<Record>* batch, size_t max_records, int timeout_ms) override {
    if (!announced_) {
      // Partition ownership is announced from inside Poll, as Kafka does.
      announced_ = true;
      if (listener_ != nullptr) {
        std::vector<PartitionKey> keys;
        for (const auto& f : files_) keys.push_back(PartitionKey{"", f.partition});
        listener_->OnAssigned(keys);
      }
    }
    for (auto& f : files_) {
      f.emitted = false;
      Compact(&f);
    }
    DrainWake();
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
    size_t added = 0;
    while (true) {
      for (auto& f : files_) {
        if (f.eof) continue;
        if (added < max_records) added += Fill(&f, batch, max_records - added);
        // Without follow, files are read one after the other, like `cat`;
        // with follow, every file gets its turn so none is starved.
        if (!config_.follow && !f.eof) break;
      }
      if (added > 0) return PollStatus::kOk;
      if (AllEof()) return PollStatus::kEndOfInput;
      if (stop_.load(std::memory_order_relaxed)) return PollStatus::kOk;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return PollStatus::kOk;
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
      Wait(std::max(1, left));
    }
  }

  void Commit(const std::vector<Record>& batch) override {}  // files keep no offsets
  bool Ready() const override { return ready_.load(); }

  void RequestStop() override {
    stop_.store(true);
    if (wake_[1] >= 0) {
      char c = 1;
      ssize_t ignored = ::write(wake_[1], &c, 1);
      (void)ignored;
    }
  }

  void Close() override {
    for (auto& f : files_) {
      if (f.fd >= 0 && !f.is_stdin) ::close(f.fd);
      f.fd = -1;
    }
    for (int& fd : wake_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    ready_.store(false);
  }

 private:
  bool AllEof() const {
    for (const auto& f : files_) {
      if (!f.eof) return false;
    }
    return true;
  }

  Status Open(InputFile* f) {
    struct stat st;
    auto fd = OpenInput(f->path, &st);
    if (!fd.ok()) return fd.status();
    f->fd = *fd;
    f->regular = S_ISREG(st.st_mode);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->pos = 0;
#ifdef POSIX_FADV_SEQUENTIAL
    if (f->regular) ::posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return Status::Ok();
  }

  // Moves the unconsumed bytes to the front of the buffer. Only legal while
  // no record of this Poll points into it.
  static void Compact(InputFile* f) {
    if (f->begin == 0) return;
    size_t n = f->end - f->begin;
    if (n > 0) std::memmove(f->buf.get(), f->buf.get() + f->begin, n);
    f->scanned -= f->begin;
    f->begin = 0;
    f->end = n;
  }

  void Emit(InputFile* f, size_t len, std::vector<Record>* batch) {
    const char* p = f->buf.get() + f->begin;
    Record r;
    r.payload = std::string_view(p, len);
    r.partition = f->partition;
    r.offset = f->line++;
    batch->push_back(r);
    f->emitted = true;
  }

  // Delivers complete lines already in the buffer; returns how many.
  size_t TakeLines(InputFile* f, std::vector<Record>* batch, size_t max) {
    size_t n = 0;
    char* base = f->buf.get();
    while (n < max && f->begin < f->end) {
      size_t from = std::max(f->scanned, f->begin);
      const char* nl =
          static_cast<const char*>(std::memchr(base + from, '\n', f->end - from));
      if (nl == nullptr) {
        f->scanned = f->end;
        size_t partial = f->end - f->begin;
        if (f->skipping) {
          f->begin = f->scanned = f->end;  // the rest of a too-long line: drop it
        } else if (partial > max_line_ + 1) {  // + 1: room for a "\r" before "\n"
          // Too long: deliver its first max_line_ + 1 bytes, drop the rest.
          Emit(f, max_line_ + 1, batch);
          ++n;
          f->begin = f->end;
          f->scanned = f->end;
          f->skipping = true;
        }
        break;
      }
      size_t nl_pos = static_cast<size_t>(nl - base);
      if (f->skipping) {
        f->skipping = false;
      } else {
        size_t len = nl_pos - f->begin;
        if (len > 0 && base[nl_pos - 1] == '\r') --len;
        if (len > max_line_) len = max_line_ + 1;
        Emit(f, len, batch);
        ++n;
      }
      f->begin = nl_pos + 1;
      f->scanned = f->begin;
    }
    return n;
  }

  // Delivers up to `max` lines of `f`, reading as needed. Never blocks.
  size_t Fill(InputFile* f, std::vector<Record>* batch, size_t max) {
    if (f->eof) return 0;
    size_t n = TakeLines(f, batch, max);
    while (n < max) {
      if (n > 0 && f->regular) return n;  // see kReadChunk
      if (f->end == f->cap) {
        if (f->emitted) return n;  // records point into the buffer: next Poll
        Compact(f);
        if (f->end == f->cap) return n;  // cannot happen: cap > max_line_ + 2
      }
      if (!f->regular) {
        struct pollfd p = {f->fd, POLLIN, 0};
        int r = ::poll(&p, 1, 0);
        if (r <= 0) return n;  // no data on the pipe yet
      }
      ssize_t got = ::read(f->fd, f->buf.get() + f->end, std::min(f->cap - f->end, kReadChunk));
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return n;
        // An unreadable input ends like EOF (its lines so far were
        // delivered); the other inputs go on.
        std::fprintf(stderr, "earshot: file source: read %s: %s\n", f->path.c_str(),
                     ErrnoText(errno).c_str());
        got = 0;
        f->failed = true;
      }
      if (got == 0) {
        if (config_.follow && !f->is_stdin && !f->failed) {
          if (CheckRotation(f, batch, &n, max)) continue;  // reopened: read the new file
          return n;
        }
        // Final line without a newline.
        if (f->end > f->begin && !f->skipping) {
          if (n >= max) return n;
          size_t len = f->end - f->begin;
          if (len > max_line_) len = max_line_ + 1;
          Emit(f, len, batch);
          ++n;
        }
        f->begin = f->end = f->scanned = 0;
        f->skipping = false;
        f->eof = true;
        if (!f->is_stdin && f->fd >= 0) ::close(f->fd);
        f->fd = -1;
        return n;
      }
      f->pos += got;
      f->end += static_cast<size_t>(got);
      n += TakeLines(f, batch, max - n);
    }
    return n;
  }

  // At EOF in follow mode: a file that was truncated is read again from the
  // start; a file that was replaced (rotation: a new inode at the path) is
  // reopened once the old one is drained. Returns true if reading should
  // continue at once.
  bool CheckRotation(InputFile* f, std::vector<Record>* batch, size_t* n, size_t max) {
    struct stat st;
    if (::stat(f->path.c_str(), &st) != 0) return false;  // mid-rotation: keep waiting
    if (st.st_dev == f->dev && st.st_ino == f->ino) {
      if (st.st_size < f->pos) {
        // Truncated: what is buffered belongs to the old content.
        if (f->emitted) return false;  // records point into the buffer: next Poll
        ::lseek(f->fd, 0, SEEK_SET);
        f->pos = 0;
        f->begin = f->end = f->scanned = 0;
        f->skipping = false;
        return true;
      }
      return false;
    }
    // Rotated. The old file is finished: its last line may lack a newline.
    if (f->end > f->begin && !f->skipping) {
      if (*n >= max) return false;
      size_t len = f->end - f->begin;
      if (len > max_line_) len = max_line_ + 1;
      Emit(f, len, batch);
      ++*n;
      f->begin = f->scanned = f->end;
    }
    f->skipping = false;
    int old = f->fd;
    if (Status s = Open(f); !s.ok()) {
      f->fd = old;  // try again later
      return false;
    }
    ::close(old);
    return true;
  }

  // Sleeps until stdin has data, RequestStop() is called, or the follow
  // interval / `ms` has passed.
  void Wait(int ms) {
    std::vector<struct pollfd> fds;
    fds.push_back({wake_[0], POLLIN, 0});
    for (const auto& f : files_) {
      if (!f.eof && !f.regular && f.fd >= 0) fds.push_back({f.fd, POLLIN, 0});
    }
    int wait = ms;
    if (config_.follow) wait = std::min(wait, kFollowPollMs);
    ::poll(fds.data(), fds.size(), wait);
  }

  void DrainWake() {
    char tmp[64];
    while (wake_[0] >= 0 && ::read(wake_[0], tmp, sizeof tmp) > 0) {
    }
  }

  FileSourceConfig config_;
  size_t max_line_;
  std::vector<InputFile> files_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  PartitionListener* listener_ = nullptr;
  bool announced_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<Source>> MakeFileSource(const FileSourceConfig& config,
                                                 size_t max_line_bytes) {
  if (config.paths.empty()) return Status::Error("file source: no paths configured");
  // What Start() would refuse, refused now: before the daemon listens, and
  // in `earshot check`. Start() opens them again (they may change meanwhile).
  if (std::count(config.paths.begin(), config.paths.end(), "-") > 1) {
    return Status::Error("file source: \"-\" (stdin) given more than once");
  }
  for (const std::string& path : config.paths) {
    if (path == "-") continue;
    struct stat st;
    auto fd = OpenInput(path, &st);
    if (!fd.ok()) return fd.status();
    ::close(*fd);
  }
  return std::unique_ptr<Source>(new FileSource(config, max_line_bytes));
}

}  // namespace earshot
