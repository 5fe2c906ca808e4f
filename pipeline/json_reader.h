#pragma once
// The decoders' fast path (pipeline/decoder.cc): a validating, in-situ JSON
// reader that sends an Extractor the same events RapidJSON's SAX reader
// would, for the documents it is sure about, and declines all others.
//
// Why it exists: RapidJSON's iterative reader, plus the passes over the
// whole payload for UTF-8 and lone surrogate escapes that the decoder needs
// after it, took ~9,000 of the ~11,000 instructions (~450 of ~530 ns) of a
// canonical decode of a typical 560-byte event; this reader takes ~3,000
// (~140 ns) of ~4,500. What it does differently: the text is classified
// 64 bytes at a time (quote, backslash, control byte, byte >= 0x80) when the
// walk first reaches a block, so the end of a string is a trailing-zero
// count, not a scan chained to the previous token's end; only strings with
// bytes >= 0x80 or escapes get a second look (one SIMD pass that finds the
// end and checks UTF-8, or unescaping); the path is tracked in registers and
// keys are compared 16 bytes at a time. Cost: about 0.25 ns a byte, plus
// ~30 ns for a text with bytes >= 0x80.
//
// RapidJSON stays the authority: the decoder parses a declined document
// again with RapidJSON and reports what it says. So this reader only has to
// be a sound acceptor: it never accepts what RapidJSON (with the decoder's
// flags and checks) rejects, and when it accepts, the events (unescaped
// strings, raw number text, keys) are exactly RapidJSON's. It declines:
// any syntax error; a root that is not an object; a NUL byte; invalid UTF-8;
// a lone surrogate escape; control bytes in strings (RapidJSON 1.1's SSE2
// scan lets 0x1A..0x1F through in aligned blocks: it decides those); nesting
// deeper than the extractor's limit or 256; integers over 300 digits and
// positive exponents over 308 (RapidJSON's kParseErrorNumberTooBig cases).
// tests/unit/json_reader_test.cc and the fuzz_decoder_differential target
// compare the two paths.

#include <cstddef>

#include "pipeline/decode_json.h"

namespace earshot::decode_internal {

// How many bytes past the end of its input the reader may read. They must be
// zero: a NUL byte stops every scan, so the loops need no bounds checks.
inline constexpr size_t kReaderPadding = 64;

// Reads the JSON text [begin, end) in situ (strings are unescaped in place),
// recording the values at `ex`'s paths; `ex` must be Reset(). True: the text
// is an object RapidJSON accepts, `ex` holds its values. False: declined;
// the buffer and `ex` are then in an unspecified state. Thread-safe for
// distinct buffers and extractors.
bool ReadJsonObject(char* begin, char* end, Extractor* ex);

}  // namespace earshot::decode_internal
