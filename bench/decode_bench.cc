// Decoder micro-benchmarks. The pipeline's budget is 500k events/s on one
// core (2 us an event for everything); canonical decoding of a typical
// ~550-byte event is budgeted at 200 ns. The *RapidJson variants force the
// reference path (DecoderOptions::fast_reader = false: RapidJSON's SAX
// reader and the whole-payload UTF-8 and surrogate checks), which the fast
// reader replaces for the documents it accepts. A bare RapidJSON in-situ DOM
// parse of the same bytes is the old floor.

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <string>

#include "pipeline/decoder.h"

namespace earshot {
namespace {

// A realistic canonical event, ~550 bytes.
const std::string& CanonicalEvent() {
  static const std::string kEvent =
      R"({"id":"1785653421867786240","platform":"twitter","created_at":"2024-05-01T12:00:00.250Z",)"
      R"("type":"post","lang":"en","country":"US","url":"https://twitter.com/samruns/status/1785653421867786240",)"
      R"("text":"Just bought new Nike Air Max 90! Running \u0026 lifting in them tomorrow. The new colourway )"
      R"(is amazing, way better than the Adidas ones I had last year. #nike #airmax @Nike",)"
      R"("author":{"id":"2244994945","handle":"samruns","followers":1523},)"
      R"("engagement":{"likes":48,"shares":5,"comments":2,"views":3120},)"
      R"("source":"generator","tags":["sneakers","running"]})";
  return kEvent;
}

const std::string& TwitterStatus() {
  static const std::string kStatus =
      R"({"created_at":"Wed May 01 12:00:00 +0000 2024","id":1785653421867786240,)"
      R"("id_str":"1785653421867786240","text":"Just bought new Nike Air Max 90! Running &amp; lifting)"
      R"( in them tomorrow #nike @Nike","truncated":false,"in_reply_to_status_id":null,)"
      R"("in_reply_to_status_id_str":null,"user":{"id":2244994945,"id_str":"2244994945",)"
      R"("name":"Sam Runner","screen_name":"samruns","location":"Portland, OR","url":null,)"
      R"("description":"Marathons, sneakers, coffee.","followers_count":1523,"friends_count":310,)"
      R"("created_at":"Sat Dec 14 04:35:55 +0000 2013"},"geo":null,"coordinates":null,"place":null,)"
      R"("is_quote_status":false,"quote_count":0,"reply_count":2,"retweet_count":5,)"
      R"("favorite_count":48,"entities":{"hashtags":[{"text":"nike","indices":[72,77]}],"urls":[],)"
      R"("user_mentions":[{"screen_name":"Nike","id_str":"415859364","indices":[78,83]}]},)"
      R"("lang":"en","timestamp_ms":"1714564800000"})";
  return kStatus;
}

void Decode(benchmark::State& state, Format format, const std::string& payload,
            bool fast_reader = true) {
  DecoderOptions o;
  o.format = format;
  o.fast_reader = fast_reader;
  auto dec = MakeDecoder(o);
  if (!dec.ok()) {
    state.SkipWithError(dec.message().c_str());
    return;
  }
  Event ev;
  if ((*dec)->Decode(payload, &ev)) {
    state.SkipWithError("benchmark payload does not decode");
    return;
  }
  for (auto _ : state) {
    auto r = (*dec)->Decode(payload, &ev);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(ev);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_DecodeCanonical(benchmark::State& state) {
  Decode(state, Format::kCanonical, CanonicalEvent());
}
BENCHMARK(BM_DecodeCanonical);

void BM_DecodeCanonicalRapidJson(benchmark::State& state) {
  Decode(state, Format::kCanonical, CanonicalEvent(), false);
}
BENCHMARK(BM_DecodeCanonicalRapidJson);

void BM_DecodeTwitterV1(benchmark::State& state) {
  Decode(state, Format::kTwitterV1, TwitterStatus());
}
BENCHMARK(BM_DecodeTwitterV1);

void BM_DecodeTwitterV1RapidJson(benchmark::State& state) {
  Decode(state, Format::kTwitterV1, TwitterStatus(), false);
}
BENCHMARK(BM_DecodeTwitterV1RapidJson);

// Baseline: copy into a reusable buffer + RapidJSON in-situ DOM parse, no
// field access or validation.
void BM_RapidJsonInsituDomParseOnly(benchmark::State& state) {
  const std::string& payload = CanonicalEvent();
  std::string buf;
  rapidjson::Document doc;
  for (auto _ : state) {
    buf.assign(payload);
    doc.ParseInsitu<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        buf.data());
    benchmark::DoNotOptimize(doc.HasParseError());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RapidJsonInsituDomParseOnly);

}  // namespace
}  // namespace earshot

BENCHMARK_MAIN();
