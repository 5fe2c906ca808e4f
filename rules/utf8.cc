// UTF-8 decoding and encoding helpers declared in rules/normalizer.h.
#include "rules/normalizer.h"

namespace earshot::rules {

char32_t DecodeUtf8(std::string_view s, size_t* i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  size_t k = *i;
  unsigned char c = p[k];
  if (c < 0x80) {
    *i = k + 1;
    return c;
  }
  int len;
  char32_t cp;
  char32_t min;
  if ((c & 0xE0) == 0xC0) {
    len = 2; cp = c & 0x1F; min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3; cp = c & 0x0F; min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4; cp = c & 0x07; min = 0x10000;
  } else {
    *i = k + 1;
    return 0xFFFD;
  }
  if (k + len > n) {
    *i = k + 1;
    return 0xFFFD;
  }
  for (int j = 1; j < len; ++j) {
    unsigned char cc = p[k + j];
    if ((cc & 0xC0) != 0x80) {
      *i = k + 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *i = k + 1;
    return 0xFFFD;
  }
  *i = k + len;
  return cp;
}

char* EncodeUtf8(char32_t cp, char* o) {
  if (cp < 0x80) {
    *o++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *o++ = static_cast<char>(0xC0 | (cp >> 6));
    *o++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = static_cast<char>(0xE0 | (cp >> 12));
    *o++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *o++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *o++ = static_cast<char>(0xF0 | (cp >> 18));
    *o++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *o++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *o++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return o;
}

void AppendUtf8(char32_t cp, std::string* out) {
  char buf[4];
  out->append(buf, static_cast<size_t>(EncodeUtf8(cp, buf) - buf));
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const char32_t cp = DecodeUtf8(s, &i);
    if (cp == 0xFFFD && i - start != 3) AppendUtf8(cp, &out);
    else out.append(s, start, i - start);
  }
  return out;
}

}  // namespace earshot::rules
