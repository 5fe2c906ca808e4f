#include "connectors/file_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

namespace earshot {
namespace {

namespace fs = std::filesystem;

// What counts in one watched directory.
struct WatchedDir {
  bool whole = false;           // named itself: entries that dir_entry accepts
  std::set<std::string> files;  // entries named as files
};

class InotifyWatcher : public FileWatcher {
 public:
  InotifyWatcher(int fd, int stop_pipe[2], int debounce_ms, std::function<void()> on_change,
                 std::map<int, WatchedDir> dirs, std::function<bool(const std::string&)> dir_entry)
      : fd_(fd),
        debounce_ms_(debounce_ms),
        on_change_(std::move(on_change)),
        dirs_(std::move(dirs)),
        dir_entry_(std::move(dir_entry)) {
    stop_r_ = stop_pipe[0];
    stop_w_ = stop_pipe[1];
    thread_ = std::thread([this] { Run(); });
  }
  ~InotifyWatcher() override {
    Stop();
    close(fd_);
    close(stop_r_);
    close(stop_w_);
  }
  void Stop() override {
    if (stopped_.exchange(true)) return;
    char c = 0;
    (void)!write(stop_w_, &c, 1);
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    bool pending = false;
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_r_, POLLIN, 0}};
      int timeout = pending ? debounce_ms_ : -1;
      int n = poll(fds, 2, timeout);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      if (n == 0) {  // quiet for debounce_ms after a change
        pending = false;
        on_change_();
        continue;
      }
      if (fds[0].revents & POLLIN) {
        ssize_t len = read(fd_, buf, sizeof(buf));
        for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= len;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
          pending |= Counts(*ev);
          at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
      }
    }
  }

  // Whether an event is a change to the watched paths.
  bool Counts(const inotify_event& ev) const {
    if (ev.mask & IN_Q_OVERFLOW) return true;  // events were lost: assume so
    auto it = dirs_.find(ev.wd);
    if (it == dirs_.end() || ev.len == 0) return true;  // the directory itself
    const std::string name(ev.name);  // NUL-padded to ev.len
    // A ConfigMap volume swaps its `..data` link to change every file at once.
    if (name == "..data" || it->second.files.count(name) != 0) return true;
    return it->second.whole && (!dir_entry_ || dir_entry_(name));
  }

  int fd_;
  int stop_r_ = -1, stop_w_ = -1;
  int debounce_ms_;
  std::function<void()> on_change_;
  const std::map<int, WatchedDir> dirs_;  // by watch descriptor
  const std::function<bool(const std::string&)> dir_entry_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace

StatusOr<std::unique_ptr<FileWatcher>> WatchPaths(
    const std::vector<std::string>& paths, int debounce_ms, std::function<void()> on_change,
    std::function<bool(const std::string& name)> dir_entry) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::Error(std::string("inotify_init1: ") + std::strerror(errno));
  std::map<std::string, WatchedDir> by_path;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      by_path[p].whole = true;
    } else {
      const fs::path parent = fs::path(p).parent_path();
      by_path[parent.empty() ? "." : parent.string()].files.insert(
          fs::path(p).filename().string());
    }
  }
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                        IN_DELETE_SELF | IN_MODIFY | IN_ATTRIB;
  std::map<int, WatchedDir> dirs;
  for (auto& [d, what] : by_path) {
    const int wd = inotify_add_watch(fd, d.c_str(), mask);
    if (wd < 0) {
      std::string err = std::strerror(errno);
      close(fd);
      return Status::Error("cannot watch " + d + ": " + err);
    }
    // Two spellings of one directory share a descriptor: merge them.
    WatchedDir& w = dirs[wd];
    w.whole |= what.whole;
    w.files.insert(what.files.begin(), what.files.end());
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    close(fd);
    return Status::Error(std::string("pipe2: ") + std::strerror(errno));
  }
  return std::unique_ptr<FileWatcher>(
      new InotifyWatcher(fd, pipefd, debounce_ms, std::move(on_change), std::move(dirs),
                         std::move(dir_entry)));
}

}  // namespace earshot
