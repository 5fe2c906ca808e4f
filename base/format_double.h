#pragma once
// A double as Prometheus' text format and prometheus-cpp write it: printf's
// %.16g (16 significant digits, correctly rounded, ties to even; trailing
// zeros dropped; an exponent of at least two digits), e.g. 0.25,
// 0.3333333333333333, 9.300000000000001, 1e-05.
//
// Why not std::to_chars(.., chars_format::general, 16): it costs ~690
// instructions a value, and a scrape of 1,000 brands formats ~144,000
// share-of-voice ratios. FormatG16 rounds exactly with one 128-bit product
// for the values such a scrape holds (magnitudes 1e-7 up to 1e16), in ~210
// instructions, and hands every other value to std::to_chars. The output
// is byte for byte std::to_chars's (tests/unit/format_double_test.cc
// compares them on millions of values). Thread-safe (pure).

namespace earshot {

// Characters FormatG16 may write: "-2.225073858507201e-308" is 23.
inline constexpr int kMaxG16Chars = 24;

// Writes v (finite; NaN and infinities are the caller's to spell) at p,
// which has room for kMaxG16Chars, and returns the end.
char* FormatG16(char* p, double v);

}  // namespace earshot
