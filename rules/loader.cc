// Rule file loader (docs/rules.md). Each file is parsed on its own into a
// FileRules with every error collected (the loader never stops at the first
// one), then files are merged in order: categories of the same name merge,
// duplicate brand and topic names are reported with both positions.
//
// Columns: yaml-cpp and the query parser count bytes; before a file's
// positions leave this loader they are converted to characters (code points),
// which is what editors show on lines with Arabic or Japanese text.

#include "rules/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "base/platform.h"
#include "base/strings.h"
#include "base/yaml_util.h"
#include "rules/normalizer.h"
#include "rules/query.h"

namespace earshot::rules {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTopKeys = {"category", "brands", "topics", "tests",
                                           "arabic_proclitics"};
const std::vector<std::string> kRuleKeys = {"name",  "terms",     "exclude",  "regex",
                                            "query", "platforms", "languages"};
const std::vector<std::string> kTestKeys = {"event", "brands", "topics"};
// The keys of the event schema (docs/formats.md), so a real event can be
// pasted into a test; only text, platform, lang, author and country are used.
const std::vector<std::string> kEventKeys = {"text", "platform", "lang",       "author",
                                             "country", "id",     "created_at", "type",
                                             "url",  "engagement"};
const std::vector<std::string> kAuthorKeys = {"handle", "id", "followers"};

void Dedupe(std::vector<std::string>* v) {
  std::vector<std::string> out;
  for (auto& s : *v) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  *v = std::move(out);
}

std::string LocString(const SourceLoc& loc) {
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

// What one file contributes.
struct FileRules {
  bool has_category = false;
  CategoryDef category;
  std::vector<RuleDef> topics;
  std::vector<RuleTestCase> tests;
};

class FileLoader {
 public:
  FileLoader(std::string file, const std::string& text) : file_(std::move(file)), text_(text) {
    std::string line;
    std::istringstream in(text);
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines_.push_back(line);
    }
  }

  // Parses the file; errors go to diags() with byte columns until Finish().
  void Load(FileRules* out) {
    auto root = LoadYamlString(text_, file_, &diags_);
    if (!root) return;
    if (root->IsNull()) return;  // an empty file holds no rules
    if (!root->IsMap()) {
      diags_.Error(LocOf(*root, file_),
                   "a rule file must be a mapping with category, brands, topics and tests");
      return;
    }
    const YAML::Node& top = *root;
    CheckKeys(top, kTopKeys, file_, "rule file", &diags_);

    // Read first: it applies to every brand and topic of the file.
    if (const YAML::Node ap = MapValue(top, "arabic_proclitics")) {
      // YAML 1.2's booleans only: a quoted "false", a `!!str false` or a
      // yes/no is a mistake here, not a value. A plain scalar's tag is "?".
      static const char* const kTrue[] = {"true", "True", "TRUE"};
      static const char* const kFalse[] = {"false", "False", "FALSE"};
      bool known = false;
      if (ap.IsScalar() && (ap.Tag() == "?" || ap.Tag() == "tag:yaml.org,2002:bool")) {
        for (const char* t : kTrue) known |= ap.Scalar() == t;
        for (const char* f : kFalse) {
          if (ap.Scalar() == f) {
            known = true;
            arabic_proclitics_ = false;
          }
        }
      }
      if (!known) {
        // An empty value's position is where yaml-cpp stopped (the next
        // line): the key's is the one to show.
        const SourceLoc key = KeyLocOf(top, "arabic_proclitics", file_);
        const SourceLoc value = LocOf(ap, file_);
        diags_.Error(ap.IsNull() && value.line != key.line ? key : value,
                     "arabic_proclitics: expected true or false",
                     "it turns proclitic matching (و, ال, بال, ...) on or off for this file's "
                     "brands and topics");
      }
    }
    const YAML::Node category = MapValue(top, "category");
    const YAML::Node brands = MapValue(top, "brands");
    if (category) {
      auto name = AsString(category, file_, "category", &diags_);
      if (name && CheckName(*name, LocOf(category, file_), "category")) {
        if (*name == "none") {
          diags_.Error(LocOf(category, file_), "category name \"none\" is reserved",
                       "topic metrics use category=\"none\" for posts that name no brand");
        } else {
          out->has_category = true;
          out->category.name = *name;
          out->category.loc = LocOf(category, file_);
        }
      }
    }
    if (brands) {
      if (!category) {
        diags_.Error(KeyLocOf(top, "brands", file_), "brands need a category: add \"category: NAME\"",
                     "share of voice is computed among the brands of one category");
      }
      ParseRuleList(brands, "brands", "brand", &out->category.brands);
    }
    if (const YAML::Node topics = MapValue(top, "topics")) {
      ParseRuleList(topics, "topics", "topic", &out->topics);
    }
    if (const YAML::Node tests = MapValue(top, "tests")) {
      ParseTests(tests, &out->tests);
    }
  }

  // Converts every position produced for this file to character columns and
  // hands the errors over.
  void Finish(FileRules* out, Diagnostics* diags) {
    Fix(&out->category.loc);
    for (auto& b : out->category.brands) FixRule(&b);
    for (auto& t : out->topics) FixRule(&t);
    for (auto& t : out->tests) Fix(&t.loc);
    // In file order, as a compiler reports them (yaml-cpp and the checks
    // below find them in a different order).
    std::vector<Diagnostic> errors = diags_.errors();
    for (auto& d : errors) Fix(&d.loc);
    std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::make_pair(a.loc.line, a.loc.col) < std::make_pair(b.loc.line, b.loc.col);
    });
    for (const auto& d : errors) {
      SourceLoc loc = d.loc;
      diags->Error(loc, d.message, d.hint);
    }
  }

 private:
  void Fix(SourceLoc* loc) const {
    if (loc->file != file_ || loc->line < 1 || loc->col < 1 ||
        loc->line > static_cast<int>(lines_.size())) {
      return;
    }
    const std::string& l = lines_[loc->line - 1];
    size_t bytes = static_cast<size_t>(loc->col - 1);
    const size_t end = std::min(bytes, l.size());
    // Positions come mostly in order along a line: counting on from the
    // last one keeps a line of 100,000 flow items linear, not quadratic.
    size_t b = 0;
    int chars = 0;
    if (fix_line_ == loc->line && fix_byte_ <= end) {
      b = fix_byte_;
      chars = fix_chars_;
    }
    for (; b < end; ++b) {
      if ((static_cast<unsigned char>(l[b]) & 0xC0) != 0x80) ++chars;
    }
    fix_line_ = loc->line;
    fix_byte_ = end;
    fix_chars_ = chars;
    if (bytes > l.size()) chars += static_cast<int>(bytes - l.size());
    loc->col = chars + 1;
  }
  // Fix's place on its last line: the line, a byte and the characters
  // before it.
  mutable int fix_line_ = 0;
  mutable size_t fix_byte_ = 0;
  mutable int fix_chars_ = 0;

  void FixExpr(Expr* e) const {
    Fix(&e->loc);
    for (auto& c : e->children) FixExpr(&c);
  }

  void FixRule(RuleDef* r) const {
    Fix(&r->loc);
    for (auto& t : r->terms) Fix(&t.loc);
    for (auto& t : r->exclude) Fix(&t.loc);
    for (auto& t : r->regex) Fix(&t.loc);
    for (auto& l : r->platform_locs) Fix(&l);
    if (r->query) FixExpr(&*r->query);
  }

  // Names become metric label values and the "category/brand" of tests.
  bool CheckName(const std::string& name, const SourceLoc& loc, const std::string& what) {
    if (name.empty()) {
      diags_.Error(loc, what + " name is empty");
      return false;
    }
    if (name.find('/') != std::string::npos) {
      diags_.Error(loc, what + " name \"" + name + "\" contains '/'",
                   "tests name brands as \"category/brand\"; use '_' or '-' instead");
      return false;
    }
    for (unsigned char c : name) {
      if (c < 0x20 || c == 0x7F) {
        diags_.Error(loc, what + " name contains a control character");
        return false;
      }
    }
    return true;
  }

  void ParseRuleList(const YAML::Node& list, const std::string& key, const std::string& what,
                     std::vector<RuleDef>* out) {
    if (list.IsNull()) return;
    if (!list.IsSequence()) {
      diags_.Error(LocOf(list, file_), key + ": expected a list of " + what + "s",
                   "each " + what + " is an item \"- name: ...\"");
      return;
    }
    for (const auto& item : list) {
      RuleDef r;
      size_t errors_before = diags_.errors().size();
      if (!ParseRule(item, what, &r)) {
        // Kept for the compiler's checks of its terms, regexes and platforms
        // (LoadAndCompile); the error above fails the load.
        if (!item.IsMap() || diags_.errors().size() == errors_before) continue;
        r.rejected = true;
      }
      out->push_back(std::move(r));
    }
  }

  // Reads terms/exclude/regex, keeping each entry's position.
  bool ParseTerms(const YAML::Node& node, const std::string& key, std::vector<TermSpec>* out) {
    if (node.IsNull()) return true;
    if (node.IsScalar()) {
      if (node.Scalar().empty()) {
        diags_.Error(LocOf(node, file_), key + ": empty term");
        return false;
      }
      out->push_back(TermSpec{node.Scalar(), LocOf(node, file_)});
      return true;
    }
    if (!node.IsSequence()) {
      diags_.Error(LocOf(node, file_), key + ": expected a list of strings");
      return false;
    }
    bool ok = true;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        diags_.Error(LocOf(item, file_), key + ": expected a string");
        ok = false;
        continue;
      }
      if (item.Scalar().empty()) {
        diags_.Error(LocOf(item, file_), key + ": empty term");
        ok = false;
        continue;
      }
      out->push_back(TermSpec{item.Scalar(), LocOf(item, file_)});
    }
    return ok;
  }

  // Where the query's first character is, and its text. For quoted scalars
  // that is one past the quote; for block scalars (| and >) the block's
  // indentation, on the line after the header for a literal block (|),
  // whose value keeps the empty lines before its content, and on the
  // first content line for a folded one (>), which is re-read as written,
  // line by line, so that positions stay exact: for the query language a
  // newline and a space are the same.
  SourceLoc QueryOrigin(const YAML::Node& node, std::string* text) const {
    YAML::Mark m = node.Mark();
    *text = node.Scalar();
    if (m.line < 0 || m.line >= static_cast<int>(lines_.size())) return LocOf(node, file_);
    const std::string& l = lines_[m.line];
    char c = m.column < static_cast<int>(l.size()) ? l[m.column] : '\0';
    if (c == '\'' || c == '"') return SourceLoc{file_, m.line + 1, m.column + 2};
    if (c != '|' && c != '>') return SourceLoc{file_, m.line + 1, m.column + 1};
    size_t k = m.line + 1;
    auto indent_of = [](const std::string& s) {
      size_t n = 0;
      while (n < s.size() && s[n] == ' ') ++n;
      return n;
    };
    auto blank = [&](const std::string& s) { return indent_of(s) == s.size(); };
    while (k < lines_.size() && blank(lines_[k])) ++k;
    if (k >= lines_.size()) return SourceLoc{file_, m.line + 1, m.column + 1};
    size_t indent = indent_of(lines_[k]);
    // With an indentation indicator (|2, >-4) the first content line can
    // start with spaces that belong to the value: the block's indentation
    // is what comes before them.
    size_t own = 0;
    for (size_t b = 0; b < text->size(); ++b) {
      const char ch = (*text)[b];
      if (ch == '\n') {
        own = 0;
      } else if (ch == ' ') {
        ++own;
      } else {
        break;
      }
    }
    indent -= std::min(own, indent);
    if (c == '>') {
      std::string raw;
      for (size_t j = k; j < lines_.size(); ++j) {
        const std::string& s = lines_[j];
        if (!blank(s) && indent_of(s) < indent) break;
        if (j > k) raw.push_back('\n');
        if (s.size() > indent) raw += s.substr(indent);
      }
      *text = raw;
      return SourceLoc{file_, static_cast<int>(k) + 1, static_cast<int>(indent) + 1};
    }
    // A literal block's value starts on the line after its header: empty
    // lines before the first content line are newlines of the value.
    return SourceLoc{file_, m.line + 2, static_cast<int>(indent) + 1};
  }

  // Where each byte of a flow scalar's value (plain, '...' or "...") sits in
  // the file, re-read from the source: quotes ('' and escapes) and folded
  // line breaks make the value differ from what is written, so counting
  // from the scalar's start would point beside the error. One entry per
  // byte of node.Scalar() and one for its end; empty for a block scalar
  // (QueryOrigin is exact there) or when the re-reading does not give
  // yaml-cpp's value byte for byte (then positions count from the start).
  std::vector<QueryPosition> FlowScalarPositions(const YAML::Node& node) const {
    const YAML::Mark m = node.Mark();
    const std::string& want = node.Scalar();
    if (m.line < 0 || m.line >= static_cast<int>(lines_.size())) return {};
    size_t line = static_cast<size_t>(m.line);
    size_t i = static_cast<size_t>(m.column);
    if (i >= lines_[line].size()) return {};
    char quote = lines_[line][i];
    if (quote == '|' || quote == '>') return {};
    if (quote == '\'' || quote == '"') {
      ++i;
    } else {
      quote = 0;
    }
    auto ws = [](char c) { return c == ' ' || c == '\t'; };
    std::string out;
    std::vector<QueryPosition> at;
    auto emit = [&](std::string_view bytes, size_t l, size_t c) {
      for (char b : bytes) {
        out.push_back(b);
        at.push_back(QueryPosition{static_cast<int>(l) + 1, static_cast<int>(c) + 1});
      }
    };
    bool closed = false;
    while (!closed && out.size() <= want.size() && line < lines_.size()) {
      const std::string& s = lines_[line];
      size_t trim_from = out.size();  // raw white space at the line's end is folded away
      bool escaped_break = false;
      if (quote == 0) {
        size_t end = s.size();
        for (size_t k = i; k < s.size(); ++k) {
          if (s[k] == '#' && (k == 0 || ws(s[k - 1]))) {
            end = k;
            break;
          }
        }
        while (end > i && ws(s[end - 1])) --end;
        for (size_t k = i; k < end; ++k) emit(std::string_view(&s[k], 1), line, k);
        trim_from = out.size();
      } else {
        while (i < s.size()) {
          const char c = s[i];
          if (c == quote) {
            if (quote == '\'' && i + 1 < s.size() && s[i + 1] == '\'') {
              emit("'", line, i);
              i += 2;
              trim_from = out.size();
              continue;
            }
            closed = true;
            break;
          }
          if (quote == '"' && c == '\\') {
            if (i + 1 == s.size()) {
              escaped_break = true;
              break;
            }
            std::string bytes;
            size_t len = 0;
            if (!DecodeEscape(s, i + 1, &bytes, &len)) return {};
            emit(bytes, line, i);
            i += 1 + len;
            trim_from = out.size();
            continue;
          }
          emit(std::string_view(&s[i], 1), line, i);
          ++i;
          if (!ws(c)) trim_from = out.size();
        }
      }
      if (closed) break;
      if (escaped_break) trim_from = out.size();  // white space before a '\' stays
      // A line break: trailing white space goes, empty lines are newlines,
      // and a single break is a space (none after an escaped break).
      out.resize(trim_from);
      at.resize(trim_from);
      const size_t break_line = line;
      const size_t break_col = s.size();
      ++line;
      size_t empty = 0;
      while (line < lines_.size() &&
             std::all_of(lines_[line].begin(), lines_[line].end(), [&](char c) { return ws(c); })) {
        emit("\n", line, 0);
        ++empty;
        ++line;
      }
      if (empty == 0 && !escaped_break) emit(" ", break_line, break_col);
      if (line >= lines_.size()) break;
      i = 0;
      while (i < lines_[line].size() && ws(lines_[line][i])) ++i;
    }
    if (out.size() < want.size() || out.compare(0, want.size(), want) != 0) return {};
    at.resize(want.size());
    QueryPosition end = at.empty() ? QueryPosition{m.line + 1, m.column + 2} : at.back();
    if (!at.empty()) ++end.col;
    at.push_back(end);
    return at;
  }

  // One escape of a double-quoted YAML scalar, after its backslash at
  // s[k]: its UTF-8 bytes and the length of what follows the backslash.
  static bool DecodeEscape(const std::string& s, size_t k, std::string* bytes, size_t* len) {
    static const std::pair<char, const char*> kSimple[] = {
        {'0', "\0"},   {'a', "\a"},   {'b', "\b"},   {'t', "\t"},   {'\t', "\t"},
        {'n', "\n"},   {'v', "\v"},   {'f', "\f"},   {'r', "\r"},   {'e', "\x1b"},
        {' ', " "},    {'"', "\""},   {'/', "/"},    {'\\', "\\"},  {'N', "\xc2\x85"},
        {'_', "\xc2\xa0"}, {'L', "\xe2\x80\xa8"}, {'P', "\xe2\x80\xa9"}};
    const char c = s[k];
    for (const auto& [e, b] : kSimple) {
      if (c == e) {
        *bytes = c == '0' ? std::string(1, '\0') : std::string(b);
        *len = 1;
        return true;
      }
    }
    const size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits == 0 || k + 1 + digits > s.size()) return false;
    char32_t cp = 0;
    for (size_t d = 0; d < digits; ++d) {
      const int v = HexDigitValue(s[k + 1 + d]);
      if (v < 0) return false;
      cp = cp * 16 + static_cast<char32_t>(v);
    }
    bytes->clear();
    AppendUtf8(cp, bytes);
    *len = 1 + digits;
    return true;
  }

  std::vector<std::string> StringList(const YAML::Node& node, const std::string& key) {
    auto v = AsStringList(node, file_, key, &diags_, /*allow_scalar=*/true);
    return v ? *v : std::vector<std::string>{};
  }

  bool ParseRule(const YAML::Node& n, const std::string& what, RuleDef* r) {
    r->loc = LocOf(n, file_);
    r->arabic_proclitics = arabic_proclitics_;
    if (!n.IsMap()) {
      diags_.Error(r->loc, what + ": expected a mapping such as {name: x, terms: [...]}");
      return false;
    }
    size_t errors_before = diags_.errors().size();
    CheckKeys(n, kRuleKeys, file_, what, &diags_);
    // After a misspelt key ("term:"), "has no terms" would only repeat it.
    bool ok = diags_.errors().size() == errors_before;
    const YAML::Node name = MapValue(n, "name");
    if (!name) {
      diags_.Error(r->loc, what + " is missing \"name\"");
      ok = false;
    } else if (auto s = AsString(name, file_, "name", &diags_)) {
      ok &= CheckName(*s, LocOf(name, file_), what);
      r->name = *s;
    } else {
      ok = false;
    }
    bool has_body = false;
    if (const YAML::Node t = MapValue(n, "terms")) {
      ok &= ParseTerms(t, "terms", &r->terms);
      has_body |= !r->terms.empty();
    }
    if (const YAML::Node t = MapValue(n, "exclude")) ok &= ParseTerms(t, "exclude", &r->exclude);
    if (const YAML::Node t = MapValue(n, "regex")) {
      ok &= ParseTerms(t, "regex", &r->regex);
      has_body |= !r->regex.empty();
    }
    bool query_failed = false;
    if (const YAML::Node q = MapValue(n, "query")) {
      has_body = true;
      if (!q.IsScalar()) {
        diags_.Error(LocOf(q, file_), "query: expected a string",
                     "quote the query: query: '(a OR b) AND NOT c'");
        query_failed = true;
      } else {
        std::string text;
        SourceLoc origin = QueryOrigin(q, &text);
        const std::vector<QueryPosition> at = FlowScalarPositions(q);
        r->query = ParseQuery(text, origin, &diags_, at.empty() ? nullptr : &at);
        query_failed = !r->query;
      }
      ok &= !query_failed;
    }
    // An empty filter would pass no event: the rule could never fire.
    auto check_not_empty = [&](const YAML::Node& list, const char* key, size_t errors_before) {
      if (diags_.errors().size() != errors_before) return;  // its own error said enough
      // (A null value's mark is the next token's: name the key then.)
      diags_.Error(list.IsNull() ? KeyLocOf(n, key, file_) : LocOf(list, file_),
                   std::string(key) + ": an empty list lets no event through",
                   std::string("leave ") + key + " out to match every " +
                       (key[0] == 'p' ? "platform" : "language"));
      ok = false;
    };
    if (const YAML::Node p = MapValue(n, "platforms")) {
      const size_t errors_before = diags_.errors().size();
      const std::vector<std::string> names = StringList(p, "platforms");
      if (names.empty()) check_not_empty(p, "platforms", errors_before);
      for (size_t k = 0; k < names.size(); ++k) {
        std::string c = CanonicalPlatformName(names[k]);
        if (std::find(r->platforms.begin(), r->platforms.end(), c) != r->platforms.end()) continue;
        r->platforms.push_back(std::move(c));
        // An unknown platform is reported at its own entry of the list.
        r->platform_locs.push_back(p.IsSequence() && p.size() == names.size() ? LocOf(p[k], file_)
                                                                              : LocOf(p, file_));
      }
    }
    if (const YAML::Node l = MapValue(n, "languages")) {
      const size_t errors_before = diags_.errors().size();
      for (auto& s : StringList(l, "languages")) r->languages.push_back(AsciiLowered(s));
      if (r->languages.empty()) check_not_empty(l, "languages", errors_before);
    }
    Dedupe(&r->languages);
    if (!has_body && ok) {
      std::string label = r->name.empty() ? what : what + " \"" + r->name + "\"";
      diags_.Error(r->loc, label + " has no terms, regex or query",
                   "add terms: [...], regex: [...] or query: '...'");
      ok = false;
    }
    return ok;
  }

  void ParseTests(const YAML::Node& list, std::vector<RuleTestCase>* out) {
    if (list.IsNull()) return;
    if (!list.IsSequence()) {
      diags_.Error(LocOf(list, file_), "tests: expected a list of test cases",
                   "each case is an item \"- event: {text: ...}\"");
      return;
    }
    for (const auto& item : list) {
      RuleTestCase tc;
      if (ParseTest(item, &tc)) out->push_back(std::move(tc));
    }
  }

  bool ParseTest(const YAML::Node& n, RuleTestCase* tc) {
    tc->loc = LocOf(n, file_);
    if (!n.IsMap()) {
      diags_.Error(tc->loc, "test: expected a mapping with event, brands and topics");
      return false;
    }
    size_t errors_before = diags_.errors().size();
    CheckKeys(n, kTestKeys, file_, "test", &diags_);
    const YAML::Node event = MapValue(n, "event");
    if (!event) {
      diags_.Error(tc->loc, "test is missing \"event\"");
    } else if (CheckKeys(event, kEventKeys, file_, "event", &diags_)) {
      if (const YAML::Node t = MapValue(event, "text")) {
        if (auto s = AsString(t, file_, "text", &diags_)) tc->text = *s;
      } else {
        diags_.Error(LocOf(event, file_), "event is missing \"text\"");
      }
      // An optional field that is null is absent, as in an event
      // (docs/formats.md), so that a real event pastes in as it is.
      auto given = [](const YAML::Node& f) { return f && !f.IsNull(); };
      if (const YAML::Node p = MapValue(event, "platform"); given(p)) {
        if (auto s = AsString(p, file_, "platform", &diags_)) tc->platform = CanonicalPlatformName(*s);
      }
      if (const YAML::Node l = MapValue(event, "lang"); given(l)) {
        if (auto s = AsString(l, file_, "lang", &diags_)) tc->lang = AsciiLowered(*s);
      }
      if (const YAML::Node c = MapValue(event, "country"); given(c)) {
        if (auto s = AsString(c, file_, "country", &diags_)) tc->country = *s;
      }
      if (const YAML::Node a = MapValue(event, "author"); given(a)) {
        std::optional<std::string> handle;
        if (a.IsMap()) {
          CheckKeys(a, kAuthorKeys, file_, "author", &diags_);
          if (const YAML::Node h = MapValue(a, "handle"); given(h)) {
            handle = AsString(h, file_, "handle", &diags_);
          }
        } else {
          handle = AsString(a, file_, "author", &diags_);
        }
        if (handle) {
          tc->author = *handle;
          if (!tc->author.empty() && tc->author[0] == '@') tc->author.erase(0, 1);
        }
      }
    }
    if (const YAML::Node b = MapValue(n, "brands")) {
      tc->has_brands = true;
      tc->brands = StringList(b, "brands");
      size_t i = 0;
      for (const auto& s : tc->brands) {
        size_t slash = s.find('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 == s.size() ||
            s.find('/', slash + 1) != std::string::npos) {
          YAML::Node at = b.IsSequence() ? b[i] : b;
          diags_.Error(LocOf(at, file_), "brands: expected \"category/brand\", got \"" + s + "\"");
        }
        ++i;
      }
      CheckListedOnce(b, tc->brands, "brands");
      std::sort(tc->brands.begin(), tc->brands.end());
    }
    if (const YAML::Node t = MapValue(n, "topics")) {
      tc->has_topics = true;
      tc->topics = StringList(t, "topics");
      CheckListedOnce(t, tc->topics, "topics");
      std::sort(tc->topics.begin(), tc->topics.end());
    }
    return diags_.errors().size() == errors_before;
  }

  // A test's `brands:` and `topics:` are sets (order does not matter), so
  // a name written twice is a slip, maybe for another name: an error at
  // the second one, rather than a failure whose diff shows nothing.
  void CheckListedOnce(const YAML::Node& list, const std::vector<std::string>& names,
                       const std::string& key) {
    std::set<std::string> seen;
    for (size_t i = 0; i < names.size(); ++i) {
      if (seen.insert(names[i]).second) continue;
      const YAML::Node at = list.IsSequence() && list.size() == names.size() ? list[i] : list;
      diags_.Error(LocOf(at, file_), key + ": \"" + names[i] + "\" is listed twice");
    }
  }

  std::string file_;
  const std::string& text_;
  std::vector<std::string> lines_;
  Diagnostics diags_;
  bool arabic_proclitics_ = true;  // the file's `arabic_proclitics`
};

// Where the first byte sequence that is not UTF-8 starts (line 0: none).
// Columns count characters, as every loader diagnostic's do.
SourceLoc FirstInvalidUtf8(std::string_view text, const std::string& file) {
  int line = 1, col = 1;
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t cp = DecodeUtf8(text, &i);
    if (cp == 0xFFFD && (i - start != 3 || text.compare(start, 3, "\xEF\xBF\xBD") != 0)) {
      return SourceLoc{file, line, col};
    }
    if (cp == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return SourceLoc{file, 0, 0};
}

bool ReadFile(const std::string& path, std::string* out, std::string* error) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    *error = "is a directory";
    return false;
  }
  if (fs::is_symlink(path, ec) && !fs::exists(path, ec)) {
    const fs::path target = fs::read_symlink(path, ec);
    *error = "cannot read rule file: a broken symbolic link (to " + target.string() + ")";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::string("cannot read rule file: ") + std::strerror(errno);
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

bool IsRuleFileName(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;  // editor lock and swap files
  auto ends_with = [&](const char* suffix) {
    size_t n = std::strlen(suffix);
    return name.size() > n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return ends_with(".yaml") || ends_with(".yml");
}

std::vector<std::string> ExpandRulePaths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      out.push_back(p);
      continue;
    }
    std::vector<std::string> files;
    for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      // Regular files (or links to them), and links to nothing, which a
      // load then reports: a rule file that vanished must not pass in
      // silence. Directories and other kinds are skipped.
      std::error_code ec2;
      if (IsRuleFileName(name) &&
          (fs::is_regular_file(it->path(), ec2) ||
           (fs::is_symlink(it->symlink_status(ec2)) && !fs::exists(it->path(), ec2)))) {
        files.push_back((fs::path(p) / name).string());
      }
    }
    std::sort(files.begin(), files.end());
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

bool LoadRuleFiles(const std::vector<std::string>& paths, RuleSetDef* out, Diagnostics* diags) {
  *out = RuleSetDef{};
  size_t errors_before = diags->errors().size();
  std::set<std::string> seen;  // the same file named twice is read once
  std::map<std::string, SourceLoc> topic_locs;
  std::map<std::string, std::map<std::string, SourceLoc>> brand_locs;  // category -> brand
  for (const auto& path : ExpandRulePaths(paths)) {
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(path, ec);
    if (!seen.insert(ec ? path : canon.string()).second) continue;
    std::string text, error;
    if (!ReadFile(path, &text, &error)) {
      diags->Error(SourceLoc{path, 0, 0}, error);
      continue;
    }
    // A UTF-8 byte order mark is not a character an editor shows: dropped,
    // so that columns on line 1 count as on the other lines (yaml-cpp's
    // marks count it in some places and not in others).
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
    // yaml-cpp reads bytes that are not UTF-8 as U+FFFD, and a term would
    // silently lose its letter there: the file is refused at the first.
    if (const SourceLoc bad = FirstInvalidUtf8(text, path); bad.line != 0) {
      diags->Error(bad, "invalid UTF-8 (rule files are UTF-8 text)");
      continue;
    }
    out->files.push_back(path);
    FileRules fr;
    FileLoader loader(path, text);
    loader.Load(&fr);
    loader.Finish(&fr, diags);

    // A file whose category is missing or invalid keeps its brands, rejected:
    // the category error fails the load, but each brand is still compiled
    // for its own errors (an empty term, a bad regex, an unknown platform),
    // all errors at once. They go to the unnamed category, which no file
    // can name (CheckName rejects ""), and duplicates among them are
    // checked within the file only.
    if (fr.has_category || !fr.category.brands.empty()) {
      const std::string name = fr.has_category ? fr.category.name : std::string();
      auto it = std::find_if(out->categories.begin(), out->categories.end(),
                             [&](const CategoryDef& c) { return c.name == name; });
      if (it == out->categories.end()) {
        const SourceLoc loc =
            fr.has_category ? fr.category.loc : fr.category.brands.front().loc;
        out->categories.push_back(CategoryDef{name, loc, {}});
        it = out->categories.end() - 1;
      }
      std::map<std::string, SourceLoc> file_locs;
      auto& locs = fr.has_category ? brand_locs[it->name] : file_locs;
      for (auto& b : fr.category.brands) {
        const bool own_error = b.rejected;
        b.rejected |= !fr.has_category;
        if (own_error) {
          it->brands.push_back(std::move(b));
          continue;
        }
        auto [prev, inserted] = locs.emplace(b.name, b.loc);
        if (!inserted) {
          const std::string where =
              fr.has_category ? " in category \"" + it->name + "\"" : std::string();
          diags->Error(b.loc, "duplicate brand \"" + b.name + "\"" + where +
                                  " (first defined at " + LocString(prev->second) + ")");
          b.rejected = true;  // compiled for its own errors all the same
        }
        it->brands.push_back(std::move(b));
      }
    }
    for (auto& t : fr.topics) {
      if (t.rejected) {
        out->topics.push_back(std::move(t));
        continue;
      }
      auto [prev, inserted] = topic_locs.emplace(t.name, t.loc);
      if (!inserted) {
        diags->Error(t.loc, "duplicate topic \"" + t.name + "\" (first defined at " +
                                LocString(prev->second) + ")");
        t.rejected = true;
      }
      out->topics.push_back(std::move(t));
    }
    for (auto& t : fr.tests) out->tests.push_back(std::move(t));
  }
  return diags->errors().size() == errors_before;
}

std::shared_ptr<const RuleSet> LoadAndCompile(const std::vector<std::string>& paths,
                                              const CompileOptions& options, RuleSetDef* def,
                                              Diagnostics* diags) {
  Diagnostics found;
  const bool loaded = LoadRuleFiles(paths, def, &found);
  // Compiled even when the load failed, so that a bad regex is reported
  // beside an unknown key: every error at once, as a compiler would.
  std::shared_ptr<const RuleSet> rs = RuleSet::Compile(*def, options, &found);
  // In the order of the files, then of their lines, as a compiler reports.
  std::map<std::string, size_t> rank;
  for (const auto& f : ExpandRulePaths(paths)) rank.emplace(f, rank.size());
  auto rank_of = [&](const SourceLoc& loc) {
    auto it = rank.find(loc.file);
    return it == rank.end() ? rank.size() : it->second;
  };
  std::vector<Diagnostic> errors = found.errors();
  std::stable_sort(errors.begin(), errors.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::make_tuple(rank_of(a.loc), a.loc.line, a.loc.col) <
           std::make_tuple(rank_of(b.loc), b.loc.line, b.loc.col);
  });
  for (auto& d : errors) diags->Error(d.loc, std::move(d.message), std::move(d.hint));
  if (!loaded || !found.ok()) return nullptr;
  return rs;
}

}  // namespace earshot::rules
