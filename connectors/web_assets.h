#pragma once
// Static files served by the HTTP listener, embedded into the binary at build
// time so the daemon needs no files besides its config and rules. The source
// is connectors/web/index.html; connectors/CMakeLists.txt turns it into a
// generated web_assets.cc. Thread-safe: views of static storage.

#include <string_view>

namespace earshot {

// The live dashboard page served at "/" (text/html; charset=utf-8).
std::string_view IndexHtml();

}  // namespace earshot
