#include "connectors/file_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

namespace earshot {
namespace {

namespace fs = std::filesystem;

class InotifyWatcher : public FileWatcher {
 public:
  InotifyWatcher(int fd, int stop_pipe[2], int debounce_ms, std::function<void()> on_change)
      : fd_(fd), debounce_ms_(debounce_ms), on_change_(std::move(on_change)) {
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
        if (len > 0) pending = true;
      }
    }
  }

  int fd_;
  int stop_r_ = -1, stop_w_ = -1;
  int debounce_ms_;
  std::function<void()> on_change_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace

StatusOr<std::unique_ptr<FileWatcher>> WatchPaths(const std::vector<std::string>& paths,
                                                  int debounce_ms,
                                                  std::function<void()> on_change) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::Error(std::string("inotify_init1: ") + std::strerror(errno));
  std::set<std::string> dirs;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) dirs.insert(p);
    else dirs.insert(fs::path(p).parent_path().empty() ? "." : fs::path(p).parent_path().string());
  }
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                        IN_DELETE_SELF | IN_MODIFY | IN_ATTRIB;
  for (const auto& d : dirs) {
    if (inotify_add_watch(fd, d.c_str(), mask) < 0) {
      std::string err = std::strerror(errno);
      close(fd);
      return Status::Error("cannot watch " + d + ": " + err);
    }
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    close(fd);
    return Status::Error(std::string("pipe2: ") + std::strerror(errno));
  }
  return std::unique_ptr<FileWatcher>(
      new InotifyWatcher(fd, pipefd, debounce_ms, std::move(on_change)));
}

}  // namespace earshot
