#pragma once
// The differential check of the decoders' fast path: one payload decoded by
// a decoder with the fast reader and by one forced onto RapidJSON alone
// (DecoderOptions::fast_reader = false) must give the same reason, or the
// same event byte for byte. Used by tests/unit/json_reader_test.cc and the
// fuzz_decoder_differential target.

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/decoder.h"

namespace earshot::fuzz {

// Every format, with the mapping the fuzz targets use (arrays, escaped
// pointer tokens, nested objects), and a shallow depth limit too.
inline std::vector<DecoderOptions> DifferentialOptions() {
  std::vector<DecoderOptions> all;
  for (Format f : {Format::kCanonical, Format::kTwitterV1, Format::kReddit, Format::kMapping}) {
    DecoderOptions o;
    o.format = f;
    if (f == Format::kMapping) {
      o.mapping = {{"id", "/data/id"},           {"platform", "/data/source"},
                   {"text", "/data/body/0"},     {"created_at", "/ts"},
                   {"author.followers", "/u/n"}, {"engagement.likes", "/m/a~1b"},
                   {"lang", "/data/~0lang"},     {"url", "/data/body/1/u"}};
    }
    all.push_back(o);
  }
  DecoderOptions shallow;
  shallow.max_json_depth = 3;
  all.push_back(shallow);
  return all;
}

class DecoderPair {
 public:
  explicit DecoderPair(DecoderOptions o) : name_(FormatName(o)) {
    o.fast_reader = true;
    fast_ = Make(o);
    o.fast_reader = false;
    reference_ = Make(o);
  }

  // "" when both decoders agree on `payload`, else what differs.
  std::string Compare(std::string_view payload) {
    Event a, b;
    const std::optional<InvalidReason> ra = fast_->Decode(payload, &a);
    const std::optional<InvalidReason> rb = reference_->Decode(payload, &b);
    if (ra != rb) return name_ + ": fast " + Reason(ra) + ", RapidJSON " + Reason(rb);
    if (ra) return "";
    std::string diff;
    auto str = [&](const char* field, std::string_view x, std::string_view y) {
      if (x != y) diff += std::string(" ") + field;
    };
    auto num = [&](const char* field, uint64_t x, uint64_t y) {
      if (x != y) diff += std::string(" ") + field;
    };
    str("id", a.id, b.id);
    str("platform", a.platform, b.platform);
    str("text", a.text, b.text);
    num("has_created_at", a.has_created_at, b.has_created_at);
    num("created_at_ms", static_cast<uint64_t>(a.created_at_ms), static_cast<uint64_t>(b.created_at_ms));
    num("type", static_cast<uint64_t>(a.type), static_cast<uint64_t>(b.type));
    str("lang", a.lang, b.lang);
    str("author_id", a.author_id, b.author_id);
    str("author_handle", a.author_handle, b.author_handle);
    str("url", a.url, b.url);
    str("country", a.country, b.country);
    num("followers", a.followers, b.followers);
    num("likes", a.likes, b.likes);
    num("shares", a.shares, b.shares);
    num("comments", a.comments, b.comments);
    num("views", a.views, b.views);
    str("subreddit", a.subreddit, b.subreddit);
    return diff.empty() ? "" : name_ + ": fields differ:" + diff;
  }

 private:
  static std::unique_ptr<Decoder> Make(const DecoderOptions& o) {
    auto d = MakeDecoder(o);
    if (!d.ok()) std::abort();
    return std::move(d).value();
  }
  static std::string FormatName(const DecoderOptions& o) {
    static const char* const kNames[] = {"canonical", "twitter_v1", "reddit", "mapping"};
    return std::string(kNames[static_cast<int>(o.format)]) + "/depth " +
           std::to_string(o.max_json_depth);
  }
  static std::string Reason(std::optional<InvalidReason> r) {
    return r ? InvalidReasonName(*r) : "ok";
  }

  std::string name_;
  std::unique_ptr<Decoder> fast_;
  std::unique_ptr<Decoder> reference_;
};

}  // namespace earshot::fuzz
