// Boolean query parser (docs/rules.md). A hand-written tokenizer and a
// recursive-descent parser, one function per precedence level:
//   or   := and ("OR" and)*
//   and  := not ("AND" not)*
//   not  := "NOT" not | near
//   near := primary ("NEAR/n" primary | "NEAR/nf" primary)?
//   primary := term | "phrase" | field:value | "(" or ")"
// Only upper-case AND, OR, NOT and NEAR/n are operators (as in Brandwatch and
// Meltwater), so the words "and", "or" and "not" can be searched for.
//
// Positions: columns advance by one per byte (as yaml-cpp counts them); a
// newline in the query moves to the next line at `origin.col`, which is
// exact for YAML literal block scalars. A query from a flow scalar comes
// with each byte's position re-read from the source by the loader (quotes,
// escapes and folded lines). The rule loader converts byte columns to
// character columns for the whole file afterwards.
//
// After the first error in a query the parser stops: one precise message per
// query beats a cascade; the loader still reports every query's error.

#include "rules/query.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/platform.h"
#include "base/strings.h"

namespace earshot::rules {
namespace {

constexpr int kMaxDepth = 64;
constexpr int kMaxNearDistance = 1000;

enum class Tok { kWord, kPhrase, kField, kLParen, kRParen, kAnd, kOr, kNot, kNear, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // word/phrase: the term; field: the value
  std::string raw;   // as written, for messages
  FieldKind field = FieldKind::kLang;
  bool is_raw = false;  // raw:"..." (a kRaw node rather than a field)
  int near_distance = 0;
  bool near_ordered = false;
  SourceLoc loc;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Collapses runs of whitespace to one space and trims: a phrase written
// across lines of a block scalar means the same as on one line.
std::string CollapseSpaces(const std::string& s) {
  std::string out;
  bool pending = false;
  for (char c : s) {
    if (IsSpace(c)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out.push_back(' ');
    pending = false;
    out.push_back(c);
  }
  return out;
}

const std::vector<std::string>& FieldNames() {
  static const std::vector<std::string> kNames = {"lang", "platform", "author", "country", "raw"};
  return kNames;
}

class Lexer {
 public:
  Lexer(std::string_view q, const SourceLoc& origin, Diagnostics* diags,
        const std::vector<QueryPosition>* positions)
      : q_(q),
        origin_(origin),
        line_(origin.line),
        col_(origin.col),
        diags_(diags),
        positions_(positions != nullptr && positions->size() == q.size() + 1 ? positions
                                                                              : nullptr) {}

  // Tokenizes the whole query; false after reporting an error.
  bool Run(std::vector<Token>* out) {
    while (true) {
      SkipSpace();
      Token t;
      t.loc = Here();
      if (i_ >= q_.size()) {
        t.kind = Tok::kEnd;
        out->push_back(t);
        return true;
      }
      char c = q_[i_];
      if (c == '(' || c == ')') {
        t.kind = c == '(' ? Tok::kLParen : Tok::kRParen;
        t.raw = std::string(1, c);
        Advance();
      } else if (c == '"') {
        std::string text;
        if (!ReadQuoted(&text)) return false;
        t.kind = Tok::kPhrase;
        t.text = CollapseSpaces(text);
        t.raw = "\"" + t.text + "\"";
        if (t.text.empty()) return Fail(t.loc, "empty phrase \"\"");
      } else {
        if (!ReadWord(&t)) return false;
      }
      out->push_back(std::move(t));
    }
  }

 private:
  SourceLoc Here() const {
    if (positions_ != nullptr) {
      const QueryPosition& p = (*positions_)[std::min(i_, q_.size())];
      return SourceLoc{origin_.file, p.line, p.col};
    }
    return SourceLoc{origin_.file, line_, col_};
  }

  void Advance() {
    if (q_[i_] == '\n') {
      ++line_;
      col_ = origin_.col;
    } else {
      ++col_;
    }
    ++i_;
  }

  void SkipSpace() {
    while (i_ < q_.size() && IsSpace(q_[i_])) Advance();
  }

  bool Fail(const SourceLoc& loc, std::string msg, std::string hint = "") {
    diags_->Error(loc, std::move(msg), std::move(hint));
    return false;
  }

  // Reads "..." starting at the opening quote; \" and \\ are escapes.
  bool ReadQuoted(std::string* text) {
    SourceLoc open = Here();
    Advance();
    while (i_ < q_.size()) {
      char c = q_[i_];
      if (c == '"') {
        Advance();
        return true;
      }
      if (c == '\\' && i_ + 1 < q_.size() && (q_[i_ + 1] == '"' || q_[i_ + 1] == '\\')) {
        Advance();
        c = q_[i_];
      }
      text->push_back(c);
      Advance();
    }
    return Fail(open, "unterminated quote", "close the phrase with '\"'");
  }

  // A bare word runs to whitespace, a parenthesis or a quote.
  bool ReadWord(Token* t) {
    size_t start = i_;
    while (i_ < q_.size() && !IsSpace(q_[i_]) && q_[i_] != '(' && q_[i_] != ')' &&
           q_[i_] != '"') {
      Advance();
    }
    std::string word(q_.substr(start, i_ - start));
    t->raw = word;
    if (word == "AND") {
      t->kind = Tok::kAnd;
      return true;
    }
    if (word == "OR") {
      t->kind = Tok::kOr;
      return true;
    }
    if (word == "NOT") {
      t->kind = Tok::kNot;
      return true;
    }
    if (word == "NEAR" || word.rfind("NEAR/", 0) == 0) return ReadNear(word, t);

    // field:value; the prefix must be ASCII letters so that "12:30" stays a term.
    size_t colon = word.find(':');
    if (colon != std::string::npos && colon > 0) {
      bool letters = true;
      for (size_t k = 0; k < colon; ++k) letters &= IsAsciiLetter(word[k]) || word[k] == '_';
      if (letters) return ReadField(word, colon, t);
    }

    size_t star = word.find('*');
    if (star != std::string::npos && (star + 1 != word.size() || star == 0)) {
      return Fail(t->loc, "'*' is only allowed at the end of a term (\"runn*\" matches words "
                          "starting with runn)",
                  "quote the term to match it literally: \"" + word + "\"");
    }
    t->kind = Tok::kWord;
    t->text = word;
    return true;
  }

  bool ReadNear(const std::string& word, Token* t) {
    t->kind = Tok::kNear;
    std::string spec = word.size() > 5 ? word.substr(5) : "";
    bool ordered = false;
    if (!spec.empty() && spec.back() == 'f') {
      ordered = true;
      spec.pop_back();
    }
    bool digits = !spec.empty() && spec.size() <= 6;
    for (char c : spec) digits &= (c >= '0' && c <= '9');
    if (!digits || std::stoi(spec) > kMaxNearDistance) {
      return Fail(t->loc, "bad NEAR distance \"" + word + "\"",
                  "write NEAR/n or NEAR/nf, n being the most words allowed between the "
                  "operands (0.." + std::to_string(kMaxNearDistance) + ")");
    }
    t->near_distance = std::stoi(spec);
    t->near_ordered = ordered;
    return true;
  }

  bool ReadField(const std::string& word, size_t colon, Token* t) {
    std::string name = word.substr(0, colon);
    std::string value = word.substr(colon + 1);
    bool known = false;
    for (const auto& f : FieldNames()) known |= (f == name);
    if (!known) {
      std::string near = ClosestMatch(name, FieldNames());
      std::string msg = "unknown field \"" + name + ":\"";
      if (!near.empty()) msg += " (did you mean \"" + near + ":\"?)";
      return Fail(t->loc, msg,
                  "fields are lang:, platform:, author:, country: and raw:; to search for "
                  "the text itself, quote it: \"" + word + "\"");
    }
    // field:"quoted value"
    if (value.empty() && i_ < q_.size() && q_[i_] == '"') {
      std::string quoted;
      if (!ReadQuoted(&quoted)) return false;
      value = CollapseSpaces(quoted);
      t->raw = name + ":\"" + value + "\"";
    }
    if (value.empty()) {
      return Fail(t->loc, "empty value for field \"" + name + ":\"",
                  "write it without spaces, e.g. lang:en or raw:\"Exact Case\"");
    }
    t->kind = Tok::kField;
    if (name == "raw") {
      t->is_raw = true;
      t->text = value;
      return true;
    }
    if (name == "lang") {
      t->field = FieldKind::kLang;
      t->text = AsciiLowered(value);
    } else if (name == "platform") {
      t->field = FieldKind::kPlatform;
      t->text = CanonicalPlatformName(value);
    } else if (name == "author") {
      t->field = FieldKind::kAuthor;
      if (value[0] == '@') value.erase(0, 1);
      if (value.empty()) {
        return Fail(t->loc, "empty value for field \"author:\"", "write author:nike or author:@nike");
      }
      t->text = AsciiLowered(value);
    } else {
      t->field = FieldKind::kCountry;
      t->text = AsciiLowered(value);
    }
    return true;
  }

  std::string_view q_;
  SourceLoc origin_;
  size_t i_ = 0;
  int line_;
  int col_;
  Diagnostics* diags_;
  const std::vector<QueryPosition>* positions_;  // or null
};

// How a token is named in messages.
std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kPhrase:
      return t.raw;
    case Tok::kLParen:
      return "'('";
    case Tok::kRParen:
      return "')'";
    case Tok::kEnd:
      return "the end of the query";
    case Tok::kAnd:
    case Tok::kOr:
    case Tok::kNot:
    case Tok::kNear:
      return t.raw;
    default:
      return "\"" + t.raw + "\"";
  }
}

bool IsLowerOperator(const Token& t) {
  return t.kind == Tok::kWord &&
         (t.raw == "and" || t.raw == "or" || t.raw == "not" || t.raw.rfind("near", 0) == 0);
}

class Parser {
 public:
  Parser(std::vector<Token> toks, Diagnostics* diags) : toks_(std::move(toks)), diags_(diags) {}

  std::optional<Expr> Run() {
    if (Peek().kind == Tok::kEnd) {
      return Fail(Peek().loc, "empty query");
    }
    auto e = ParseOr();
    if (!e) return std::nullopt;
    const Token& t = Peek();
    if (t.kind == Tok::kRParen) return Fail(t.loc, "unmatched ')'");
    if (t.kind != Tok::kEnd) return Fail(t.loc, "unexpected " + Describe(t));
    return e;
  }

 private:
  const Token& Peek() const { return toks_[pos_]; }
  const Token& Next() { return toks_[pos_++]; }

  std::nullopt_t Fail(const SourceLoc& loc, std::string msg, std::string hint = "") {
    diags_->Error(loc, std::move(msg), std::move(hint));
    return std::nullopt;
  }

  static bool StartsOperand(Tok k) {
    return k == Tok::kWord || k == Tok::kPhrase || k == Tok::kField || k == Tok::kLParen ||
           k == Tok::kNot;
  }

  // After a binary or unary operator: the next token must start an operand.
  bool CheckRightOperand(const Token& op) {
    Tok k = Peek().kind;
    if (k == Tok::kWord || k == Tok::kPhrase || k == Tok::kField || k == Tok::kLParen) return true;
    if (k == Tok::kNot && op.kind != Tok::kNear) return true;
    if (op.kind == Tok::kNear && k == Tok::kNot) return true;  // reported as a bad NEAR operand
    Fail(op.loc, "dangling operator " + op.raw + ": expected a term, phrase or '(' after it, got " +
                     Describe(Peek()));
    return false;
  }

  static void Append(ExprKind kind, Expr* into, Expr&& e) {
    if (e.kind == kind) {
      for (auto& c : e.children) into->children.push_back(std::move(c));
    } else {
      into->children.push_back(std::move(e));
    }
  }

  // Adds `right` to `left` as an AND/OR; extends `left` in place when it is
  // already one, so a long "a OR b OR c ..." stays linear.
  static Expr Combine(ExprKind kind, Expr&& left, Expr&& right) {
    if (left.kind == kind) {
      Append(kind, &left, std::move(right));
      return std::move(left);
    }
    Expr out;
    out.kind = kind;
    out.loc = left.loc;
    Append(kind, &out, std::move(left));
    Append(kind, &out, std::move(right));
    return out;
  }

  std::optional<Expr> ParseOr() {
    auto left = ParseAnd();
    if (!left) return std::nullopt;
    while (Peek().kind == Tok::kOr) {
      const Token& op = Next();
      if (!CheckRightOperand(op)) return std::nullopt;
      auto right = ParseAnd();
      if (!right) return std::nullopt;
      left = Combine(ExprKind::kOr, std::move(*left), std::move(*right));
    }
    return left;
  }

  std::optional<Expr> ParseAnd() {
    auto left = ParseNot();
    if (!left) return std::nullopt;
    while (true) {
      if (Peek().kind == Tok::kAnd) {
        const Token& op = Next();
        if (!CheckRightOperand(op)) return std::nullopt;
        auto right = ParseNot();
        if (!right) return std::nullopt;
        left = Combine(ExprKind::kAnd, std::move(*left), std::move(*right));
        continue;
      }
      if (StartsOperand(Peek().kind)) return MissingOperator();
      return left;
    }
  }

  std::nullopt_t MissingOperator() {
    const Token& prev = toks_[pos_ - 1];
    const Token& next = Peek();
    std::string hint;
    bool termish_prev = prev.kind == Tok::kWord || prev.kind == Tok::kPhrase;
    bool termish_next = next.kind == Tok::kWord || next.kind == Tok::kPhrase;
    if (IsLowerOperator(prev) || IsLowerOperator(next)) {
      hint = "operators are upper case (AND, OR, NOT, NEAR/n); lower-case and/or/not are "
             "searched for as words";
    } else if (next.kind == Tok::kNot) {
      hint = "NOT is unary: write AND NOT";
    } else if (termish_prev && termish_next) {
      hint = "use quotes for a phrase (\"" + prev.text + " " + next.text + "\"), or AND";
    } else {
      hint = "insert AND or OR";
    }
    return Fail(next.loc,
                "missing operator between " + Describe(prev) + " and " + Describe(next), hint);
  }

  std::optional<Expr> ParseNot() {
    if (Peek().kind != Tok::kNot) return ParseNear();
    const Token& op = Next();
    if (!CheckRightOperand(op)) return std::nullopt;
    if (++depth_ > kMaxDepth) return TooDeep(op.loc);
    auto child = ParseNot();
    --depth_;
    if (!child) return std::nullopt;
    Expr e;
    e.kind = ExprKind::kNot;
    e.loc = op.loc;
    e.children.push_back(std::move(*child));
    return e;
  }

  std::nullopt_t TooDeep(const SourceLoc& loc) {
    return Fail(loc, "query nested too deeply (more than " + std::to_string(kMaxDepth) +
                         " levels of parentheses and NOT)");
  }

  static bool IsNearOperand(const Expr& e) {
    if (e.kind == ExprKind::kTerm) return true;
    if (e.kind != ExprKind::kOr) return false;
    for (const auto& c : e.children) {
      if (c.kind != ExprKind::kTerm) return false;
    }
    return true;
  }

  std::nullopt_t BadNearOperand(const SourceLoc& loc) {
    return Fail(loc, "NEAR operands must be terms, phrases or (a OR b) groups");
  }

  std::optional<Expr> ParseNear() {
    auto left = ParsePrimary();
    if (!left) return std::nullopt;
    while (Peek().kind == Tok::kNear) {
      const Token& op = Next();
      if (!IsNearOperand(*left)) return BadNearOperand(left->loc);
      if (!CheckRightOperand(op)) return std::nullopt;
      if (Peek().kind == Tok::kNot) return BadNearOperand(Peek().loc);
      auto right = ParsePrimary();
      if (!right) return std::nullopt;
      if (!IsNearOperand(*right)) return BadNearOperand(right->loc);
      Expr e;
      e.kind = ExprKind::kNear;
      e.loc = op.loc;
      e.near_distance = op.near_distance;
      e.near_ordered = op.near_ordered;
      e.children.push_back(std::move(*left));
      e.children.push_back(std::move(*right));
      left = std::move(e);
    }
    return left;
  }

  std::optional<Expr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kWord:
      case Tok::kPhrase: {
        Next();
        Expr e;
        e.kind = ExprKind::kTerm;
        e.text = t.text;
        e.loc = t.loc;
        return e;
      }
      case Tok::kField: {
        Next();
        Expr e;
        e.kind = t.is_raw ? ExprKind::kRaw : ExprKind::kField;
        e.field = t.field;
        e.text = t.text;
        e.loc = t.loc;
        return e;
      }
      case Tok::kLParen: {
        const Token& open = Next();
        if (++depth_ > kMaxDepth) return TooDeep(open.loc);
        if (Peek().kind == Tok::kRParen) return Fail(open.loc, "empty parentheses");
        if (Peek().kind == Tok::kEnd) return Fail(open.loc, "unclosed '('");
        auto e = ParseOr();
        if (!e) return std::nullopt;
        if (Peek().kind != Tok::kRParen) {
          if (Peek().kind == Tok::kEnd) return Fail(open.loc, "unclosed '('");
          return Fail(Peek().loc, "unexpected " + Describe(Peek()));
        }
        Next();
        --depth_;
        return e;
      }
      case Tok::kRParen:
        return Fail(t.loc, "unmatched ')'");
      case Tok::kAnd:
      case Tok::kOr:
      case Tok::kNear:
        return Fail(t.loc, "operator " + t.raw + " is missing its left operand");
      case Tok::kNot:
      case Tok::kEnd:
        break;
    }
    return Fail(t.loc, "unexpected " + Describe(t));
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  Diagnostics* diags_;
};

}  // namespace

std::optional<Expr> ParseQuery(std::string_view query, const SourceLoc& origin,
                               Diagnostics* diags, const std::vector<QueryPosition>* positions) {
  std::vector<Token> toks;
  Lexer lexer(query, origin, diags, positions);
  if (!lexer.Run(&toks)) return std::nullopt;
  return Parser(std::move(toks), diags).Run();
}

}  // namespace earshot::rules
