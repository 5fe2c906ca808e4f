#pragma once
// Watches rule files and directories with inotify and calls `on_change`
// once things have been quiet for `debounce_ms` after a change. Watches the
// containing directories, not the files, so editors that save by writing a
// temp file and renaming it over the original, and Kubernetes ConfigMap
// volumes (which swap a `..data` symlink), are seen like in-place writes.
// Only changes to what is watched count: a named file's own entry (and
// `..data`, the ConfigMap's link), and in a named directory the entries
// `dir_entry` accepts (all when it is empty). A log file or an editor's
// swap file next to the rules is no change to them.
// Runs its own thread; on_change is called on it.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace earshot {

class FileWatcher {
 public:
  virtual ~FileWatcher() = default;
  virtual void Stop() = 0;
};

StatusOr<std::unique_ptr<FileWatcher>> WatchPaths(
    const std::vector<std::string>& paths, int debounce_ms, std::function<void()> on_change,
    std::function<bool(const std::string& name)> dir_entry = nullptr);

}  // namespace earshot
