# Generates a C++ source defining earshot::IndexHtml() from the live page.
# Usage: cmake -DINPUT=index.html -DOUTPUT=web_assets.cc -P embed.cmake
# The HTML goes in as one raw string literal, byte for byte (GCC and Clang
# have no practical length limit; keep the page small anyway).
if(NOT INPUT OR NOT OUTPUT)
  message(FATAL_ERROR "embed.cmake: set -DINPUT=<html> and -DOUTPUT=<cc>")
endif()
file(READ "${INPUT}" html)
set(delim "earshot_html")
string(FIND "${html}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT}: contains the raw-string delimiter )${delim}\"")
endif()
set(body "    R\"${delim}(${html})${delim}\"\n")
set(out "// Generated from ${INPUT} by connectors/web/embed.cmake. Do not edit.
#include \"connectors/web_assets.h\"

namespace earshot {

namespace {
constexpr char kIndexHtml[] =
${body};
}  // namespace

std::string_view IndexHtml() { return {kIndexHtml, sizeof(kIndexHtml) - 1}; }

}  // namespace earshot
")
# Only touch the output when it changes, so an unchanged page rebuilds nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL out)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${out}")
