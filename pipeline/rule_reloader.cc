#include "pipeline/rule_reloader.h"

#include <cctype>
#include <iterator>

#include "rules/loader.h"

namespace earshot {
namespace {
// earshot_rules_loaded's kinds, in RuleSet::Stats's order.
constexpr const char* kKinds[] = {"category", "brand", "topic", "term", "regex", "query"};
}  // namespace

RuleReloaderNames RuleReloaderNames::Shadow() {
  RuleReloaderNames n;
  n.what = "shadow rules";
  n.reload_total = "earshot_shadow_reload_total";
  n.last_successful = "earshot_shadow_last_reload_successful";
  n.last_success_timestamp = "earshot_shadow_last_reload_success_timestamp_seconds";
  n.loaded = "earshot_shadow_rules_loaded";
  n.subject = "candidate (shadow) rule";
  return n;
}

RuleReloader::RuleReloader(std::vector<std::string> paths, rules::CompileOptions options,
                           Sink sink, std::shared_ptr<prometheus::Registry> registry,
                           const Clock* clock, Logger log, RuleReloaderNames names)
    : paths_(std::move(paths)),
      options_(std::move(options)),
      sink_(std::move(sink)),
      clock_(clock),
      log_(std::move(log)),
      what_(names.what) {
  const std::string& subject = names.subject;
  std::string capitalized = subject;
  if (!capitalized.empty()) capitalized[0] = static_cast<char>(std::toupper(capitalized[0]));
  auto& reloads = prometheus::BuildCounter()
                      .Name(names.reload_total)
                      .Help(capitalized + " loads (start-up and reloads) by result.")
                      .Register(*registry);
  success_ = &reloads.Add({{"result", "success"}});
  failure_ = &reloads.Add({{"result", "failure"}});
  last_successful_ = &prometheus::BuildGauge()
                          .Name(names.last_successful)
                          .Help("1 if the last " + subject + " load succeeded, 0 if it failed "
                                "(the previous " + subject + "s stay active).")
                          .Register(*registry)
                          .Add({});
  last_success_ts_ = &prometheus::BuildGauge()
                          .Name(names.last_success_timestamp)
                          .Help("Unix time of the last successful " + subject + " load.")
                          .Register(*registry)
                          .Add({});
  loaded_family_ = &prometheus::BuildGauge()
                        .Name(names.loaded)
                        .Help("Active " + subject +
                              "s by kind: category, brand, topic, term, regex, query.")
                        .Register(*registry);
  // 0 of each until a set loads: a candidate that never loaded has a size.
  for (const char* kind : kKinds) loaded_family_->Add({{"kind", kind}}).Set(0);
}

bool RuleReloader::Reload(Diagnostics* out) {
  std::lock_guard<std::mutex> lock(mu_);
  Diagnostics diags;
  rules::RuleSetDef def;
  std::shared_ptr<const rules::RuleSet> compiled =
      rules::LoadAndCompile(paths_, options_, &def, &diags);
  if (compiled == nullptr || !diags.ok()) {
    failure_->Increment();
    last_successful_->Set(0);
    if (diags.ok()) diags.Error(SourceLoc{}, "rules failed to compile");
    log_(LogLevel::kWarn,
         what_ + ": reload failed, keeping the previous rules:\n" + diags.ToString());
    if (out) out->Append(diags);
    return false;
  }
  Publish(std::move(compiled), def.files.size());
  return true;
}

void RuleReloader::Install(std::shared_ptr<const rules::RuleSet> compiled, size_t files) {
  std::lock_guard<std::mutex> lock(mu_);
  Publish(std::move(compiled), files);
}

void RuleReloader::Publish(std::shared_ptr<const rules::RuleSet> compiled, size_t files) {
  rules::RuleSet::Stats st = compiled->stats();
  sink_(compiled);
  loaded_ = true;
  success_->Increment();
  last_successful_->Set(1);
  last_success_ts_->Set(static_cast<double>(clock_->NowMillis()) / 1000.0);
  const size_t counts[] = {st.categories, st.brands, st.topics, st.terms, st.regexes, st.queries};
  static_assert(std::size(counts) == std::size(kKinds));
  for (size_t k = 0; k < std::size(kKinds); ++k) {
    loaded_family_->Add({{"kind", kKinds[k]}}).Set(static_cast<double>(counts[k]));
  }
  log_(LogLevel::kInfo, what_ + ": loaded " + std::to_string(st.categories) + " categories, " +
       std::to_string(st.brands) + " brands, " + std::to_string(st.topics) + " topics from " +
       std::to_string(files) + " files");
}

std::vector<std::string> RuleReloader::Files() const { return rules::ExpandRulePaths(paths_); }

bool RuleReloader::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_;
}

}  // namespace earshot
