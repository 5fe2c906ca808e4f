// The one-pass matcher (docs/matching.md): runs the compiled form of
// rules/compiled_rules.h over one event.
//
// Match: normalize once; tokenize once (rules/tokenizer.h), probing the
// no-space runs as they come and collecting the spaced tokens (in a text
// without no-space-script characters the words are the tokens); hash and
// filter all spaced tokens in one branch-free loop, then probe the term
// index for those through the filter; evaluate only the rules that
// reference a hit atom plus the few that can fire with no atom hit. A rule
// that is a plain OR of its atoms fires without evaluation.
//
// Word boundaries: a term matches where its normalized form is bounded by
// non-word characters or the text edge; the boundary condition at an edge
// is waived when EITHER the term's edge character OR the adjacent text
// character is a no-space-script character. So `ナイキ` matches in
// `ナイキの靴` and `nike` in `我爱nike鞋`, but `nike` never in `nikelab`. The
// tokenizer realizes this by splitting runs of word characters also where
// no-space-script characters meet other characters.
#include <algorithm>
#include <climits>
#include <cstring>
#include <tuple>

#include "base/strings.h"
#include "rules/arabic_proclitics.h"
#include "rules/compiled_rules.h"
#include "rules/tokenizer.h"

namespace earshot::rules {

namespace {
struct Occ {
  uint32_t begin, end;    // bytes in the normalized text (original text for raw)
  uint32_t wbegin, wend;  // word indexes (NEAR)
  uint32_t next;          // next occurrence of the same atom, or kNone
  uint32_t prefix;        // bytes of a proclitic at begin (explain)
};

// An occurrence of a NEAR operand, on side A or B (NearBest).
struct NearItem {
  uint32_t begin, end, wbegin, wend, atom;
  bool b_side;
  bool SameAs(const NearItem& o) const {
    return atom == o.atom && begin == o.begin && end == o.end;
  }
};

// A token with a proclitic peeled off its start (TermStart's fields).
using Peeled = internal::TermStart;
}  // namespace

// Per-thread working state, sized for one RuleSet (re-sized when used with
// another). Stamps with a generation counter avoid clearing per event.
struct MatchScratch::Impl {
  uint64_t set_id = 0;
  uint32_t gen = 0;
  bool record_all = false;  // explain: keep every occurrence
  std::vector<uint32_t> atom_stamp, occ_head, rule_stamp;
  std::vector<uint32_t> hits, cands;
  std::vector<Occ> occs;
  std::vector<int> re_matches;
  std::vector<VocabularyHit>* vocabulary_hits = nullptr;  // the owning MatchScratch's
  std::vector<NoSpaceVocabularyHit>* nospace_vocabulary_hits = nullptr;  // likewise
  std::vector<internal::TokenSpan> tokens;  // the spaced tokens of the text
  std::vector<uint64_t> hashes;             // HashPadded of each token
  std::vector<uint32_t> passed;             // tokens through the term index's filter
  std::vector<Peeled> peeled;               // FindPeeled's room: 2 a token, its first entries live
  mutable std::vector<NearItem> near_items;  // NearBest's sweep
};

MatchInput ToMatchInput(const EventFields& e, const PlatformTable& platforms,
                        uint32_t* platform_index) {
  const uint32_t p = platforms.Index(e.platform);
  if (platform_index != nullptr) *platform_index = p;
  return MatchInput{e.text, platforms.Name(p), e.lang, e.author, e.country};
}

namespace internal {

bool RuleSetImpl::Hit(const MatchScratch::Impl& im, uint32_t atom) const {
  return im.atom_stamp[atom] == im.gen;
}

// ---------------------------------------------------------------------------
// Matching.

MatchScratch::Impl& RuleSetImpl::Prepare(MatchScratch* scratch) const {
  if (!scratch->impl) scratch->impl = std::make_shared<MatchScratch::Impl>();
  MatchScratch::Impl& im = *scratch->impl;
  if (im.set_id != id_) {
    im.set_id = id_;
    im.atom_stamp.assign(atoms_.size(), 0);
    im.occ_head.assign(atoms_.size(), kNone);
    im.rule_stamp.assign(rules_.size(), 0);
    im.gen = 0;
  }
  if (++im.gen == 0) {
    std::fill(im.atom_stamp.begin(), im.atom_stamp.end(), 0);
    std::fill(im.rule_stamp.begin(), im.rule_stamp.end(), 0);
    im.gen = 1;
  }
  im.hits.clear();
  im.cands.clear();
  im.occs.clear();
  im.vocabulary_hits = &scratch->vocabulary_hits;
  scratch->vocabulary_hits.clear();
  im.nospace_vocabulary_hits = &scratch->nospace_vocabulary_hits;
  scratch->nospace_vocabulary_hits.clear();
  scratch->nospace_vocabulary = nospace_vocabulary_;
  scratch->vocabulary_id = vocabulary_id_;
  return im;
}

void RuleSetImpl::Hit(MatchScratch::Impl& im, uint32_t atom, uint32_t b, uint32_t e, uint32_t wb,
                      uint32_t we) const {
  Hit(im, atom, b, e, wb, we, atoms_[atom].needs_positions);
}

// `positions`: the atom's needs_positions, when the caller has it at hand.
void RuleSetImpl::Hit(MatchScratch::Impl& im, uint32_t atom, uint32_t b, uint32_t e, uint32_t wb,
                      uint32_t we, bool positions, uint32_t prefix) const {
  if (im.atom_stamp[atom] != im.gen) {
    im.atom_stamp[atom] = im.gen;
    im.occ_head[atom] = kNone;
    im.hits.push_back(atom);
  }
  if (im.record_all || positions) {
    im.occs.push_back(Occ{b, e, wb, we, im.occ_head[atom], prefix});
    im.occ_head[atom] = static_cast<uint32_t>(im.occs.size() - 1);
  }
}

// Matches words[from..] of `p` at byte `pos` of the normalized text: for
// from == 0, pos is where the first word must start; for from == 1, pos is
// just after the first word. On success *end is the match's end and *adv the
// number of word runs it advanced.
bool RuleSetImpl::Verify(const Pattern& p, std::string_view text, size_t pos, size_t from,
                         size_t* end, uint32_t* adv) const {
  const size_t n = text.size();
  uint32_t words = 0;
  for (size_t w = from; w < p.words.size(); ++w) {
    if (w > 0) {
      size_t q = pos;
      while (q < n) {
        size_t j = q;
        char32_t cp = CpAt(text, &j);
        if (CharFlags(flags_, cp) & kCharWord) break;
        q = j;
      }
      if (q == pos) {
        if (!p.gap_optional[w]) return false;
      } else {
        ++words;
      }
      if (w < p.word_tags.size() && p.word_tags[w] != 0) {
        // The gap ends with the tag, and the boundary rule holds before
        // the tag: more gap before it, or a no-space-script character.
        if (q == pos || text[q - 1] != p.word_tags[w]) return false;
        if (q - 1 == pos && !(CharFlags(flags_, CpBefore(text, pos)) & kCharNoSpace)) return false;
      }
      pos = q;
    }
    const std::string& word = p.words[w];
    if (n - pos < word.size() || std::memcmp(text.data() + pos, word.data(), word.size()) != 0) {
      return false;
    }
    pos += word.size();
  }
  if (!p.prefix && pos < n && !p.last_nospace) {
    size_t j = pos;
    uint8_t f = CharFlags(flags_, CpAt(text, &j));
    if ((f & kCharWord) && !(f & kCharNoSpace)) return false;
  }
  *end = pos;
  *adv = words;
  return true;
}

void RuleSetImpl::OnExactHits(std::string_view text, const TermStart& t, const uint32_t* vb,
                              const uint32_t* ve, MatchScratch::Impl& im) const {
  const uint32_t prefix = t.begin - t.match_begin;
  // The 8 bytes where a phrase's second word must start (Verify compares
  // it after the gap of non-word characters): read at the first phrase.
  uint64_t next = 0;
  bool have_next = false;
  for (; vb != ve; ++vb) {
    const uint32_t v = *vb;
    if (v & kVocabularyTag) {
      // Lexicon words are whole tokens.
      if (t.kind == kPeelNone) im.vocabulary_hits->push_back(VocabularyHit{t.word, v & ~kVocabularyTag});
      continue;
    }
    if (!ProcliticAccepts((v >> kProcliticShift) & 3, t.kind)) continue;
    const uint32_t atom = v & kAtomMask;
    const uint32_t tag = (v >> kTagShift) & 3;
    if (tag != 0 && !TagBefore(text, t.begin, tag == 1 ? '#' : '@')) continue;
    if (!(v & kMultiWord)) {
      Hit(im, atom, t.match_begin, t.end, t.word, t.word, (v & kPositions) != 0, prefix);
    } else {
      if (!have_next) {
        size_t q = t.end;
        for (size_t j = q; q < text.size(); q = j) {
          if (CharFlags(flags_, CpAt(text, &j)) & kCharWord) break;
        }
        std::memcpy(&next, text.data() + q, 8);  // the text is padded (FindAtoms)
        have_next = true;
      }
      const LiteralHead& head = second_word_heads_[atom];
      if ((next & internal::kPadMasks.lo[head.len]) != head.bytes) continue;
      size_t end;
      uint32_t adv;
      if (Verify(patterns_[atoms_[atom].index], text, t.end, 1, &end, &adv)) {
        Hit(im, atom, t.match_begin, static_cast<uint32_t>(end), t.word, t.word + adv,
            (v & kPositions) != 0, prefix);
      }
    }
  }
}

void RuleSetImpl::OnPrefixes(std::string_view text, const TermStart& t,
                             MatchScratch::Impl& im) const {
  const uint32_t b = t.begin, len = t.end - t.begin;
  const char* p = text.data();
  const uint32_t *vb, *ve;
  for (uint32_t l : prefix_lens_) {
    if (l > len) break;
    if (l < len && (static_cast<unsigned char>(p[b + l]) & 0xC0) == 0x80) continue;
    if (!prefix_.Find(p + b, l, &vb, &ve)) continue;
    for (; vb != ve; ++vb) {
      const Pattern& pat = patterns_[atoms_[*vb].index];
      if (!ProcliticAccepts(pat.proclitic, t.kind)) continue;
      if (pat.tag && !TagBefore(text, b, pat.tag)) continue;
      Hit(im, *vb, t.match_begin, t.end, t.word, t.word, atoms_[*vb].needs_positions,
          t.begin - t.match_begin);
    }
  }
}

// Arabic proclitics (docs/matching.md): a token that starts a word with
// و, ال, وال, بال, كال, فال or لل is looked up once more without it, for
// the terms that accept that proclitic (ProcliticAccepts). Two look-ups at
// most for a token (وال: without و and without وال).
template <typename Tokens>
void RuleSetImpl::FindPeeled(const Tokens& tokens, std::string_view text,
                             const MatchScratch& scratch, bool nospace,
                             MatchScratch::Impl& im) const {
  const char* p = text.data();
  // Without branches on the tokens (which start with which proclitic is
  // not predictable): each token writes both of its possible entries, and
  // keeps those that apply. Two a token at most, so the room is 2n.
  const size_t n = tokens.size();
  if (im.peeled.size() < 2 * n) im.peeled.resize(2 * n);
  Peeled* out = im.peeled.data();
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    const internal::TokenSpan t = tokens[i];
    uint64_t x;  // the token's first bytes (the text is padded)
    std::memcpy(&x, p + t.begin, 8);
    const uint32_t len = t.end - t.begin;
    // The letters' bytes as the load gives them (rules/arabic_proclitics.h).
    constexpr uint64_t kAl = LoadedBytes(kArticle), kLl = LoadedBytes(kLamLam);
    constexpr uint64_t kW = LoadedBytes(kWaw), kB = LoadedBytes(kBeh), kK = LoadedBytes(kKaf),
                       kF = LoadedBytes(kFeh);
    const uint64_t first = x & 0xFFFF, head = x & 0xFFFFFFFF, next_al = (x >> 16) & 0xFFFFFFFF;
    // A proclitic starts at a word boundary, so its token starts its word;
    // a token after a no-space-script character can only be an ال-term
    // written as itself.
    const bool starts_word = t.begin == scratch.words[t.word].begin;
    const bool al = head == kAl;
    const bool waw = first == kW;             // و, وال
    const bool article = al | (head == kLl);  // ال, لل
    const bool then_al = next_al == kAl;  // ال after the first letter
    const bool bkf = ((first == kB) | (first == kK) | (first == kF)) &
                     then_al;  // بال, كال, فال
    // The first entry: و, ال or لل, بال/كال/فال; or a term's own ال.
    const uint32_t cut = starts_word ? 2 * waw + 4 * article + 6 * bkf : 4 * al;
    const uint8_t kind = starts_word ? (waw ? kPeelWaw : kPeelArticle) : kPeelOwnArticle;
    out[kept] = Peeled{t.begin, t.begin + cut, t.end, t.word, kind};
    kept += (cut != 0) & (len > cut);
    // The second: وال.
    out[kept] = Peeled{t.begin, t.begin + 6, t.end, t.word, kPeelArticle};
    kept += starts_word & waw & then_al & (len > 6);
  }
  for (size_t k = 0; k < kept; ++k) {
    const Peeled& q = out[k];
    const uint32_t len = q.end - q.begin;
    const uint64_t h = internal::HashPadded(p + q.begin, len);
    const uint32_t *vb, *ve;
    if (proclitic_keys_.MayContain(h) && exact_.FindHashed(p + q.begin, len, h, &vb, &ve)) {
      OnExactHits(text, q, vb, ve, im);
    }
    if (!prefix_lens_.empty()) OnPrefixes(text, q, im);
    if (nospace && nospace_token_start_) {
      size_t next = q.begin;
      const char32_t cp = CpAt(text, &next);
      if (nospace_.MayStartWith(cp)) {
        OnNoSpacePos(text, q.begin, cp, next, q.word, im, q.match_begin, q.kind);
      }
    }
  }
}

// A position where a literal with a no-space first word may start: inside a
// no-space run, or at the start of another token (left edge implied).
void RuleSetImpl::OnNoSpacePos(std::string_view text, size_t s, char32_t cp1, size_t next,
                               uint32_t widx, MatchScratch::Impl& im, size_t match_begin,
                               uint8_t kind) const {
  // The callers have tested nospace_.MayStartWith(cp1).
  char32_t cp2 = 0;
  if (next < text.size()) {
    size_t j = next;
    cp2 = CpAt(text, &j);
  }
  internal::ForEachLiteral(nospace_, nospace_single_, cp1, cp2, [&](uint32_t atom) {
    // Most candidates differ within their first 8 bytes: compare those
    // (the text is padded) before touching the pattern.
    const LiteralHead& head = literal_heads_[atom];
    uint64_t at;
    std::memcpy(&at, text.data() + s, 8);
    if ((at & internal::kPadMasks.lo[head.len]) != head.bytes) return;
    const Pattern& pat = patterns_[atoms_[atom].index];
    if (!ProcliticAccepts(pat.proclitic, kind)) return;
    if (pat.tag && !TagBefore(text, s, pat.tag)) return;
    size_t end;
    uint32_t adv;
    if (Verify(pat, text, s, 0, &end, &adv)) {
      Hit(im, atom, static_cast<uint32_t>(match_begin), static_cast<uint32_t>(end), widx,
          widx + adv, atoms_[atom].needs_positions, static_cast<uint32_t>(s - match_begin));
    }
  });
}

// A no-space-script run, bytes [b, e) of word `widx`: the literals that are
// all no-space script by one automaton scan, the mixed ones by probes at
// each code point.
void RuleSetImpl::OnNoSpaceRun(std::string_view text, size_t b, size_t e, uint32_t widx,
                               MatchScratch::Impl& im) const {
  if (!literals_.empty()) literals_.Scan(text, b, e, [&](size_t end, uint32_t v, uint32_t bytes) {
    const size_t s = end - bytes;
    if (v & kVocabularyTag) {
      im.nospace_vocabulary_hits->push_back(NoSpaceVocabularyHit{
          static_cast<uint32_t>(s), static_cast<uint32_t>(end), v & ~kVocabularyTag});
      return;
    }
    // The value carries the atom and what a hit needs (as the term index's
    // do), so a one-word literal reads no Atom or Pattern: both are cache
    // misses with 1,000 brands.
    const uint32_t atom = v & kAtomMask;
    const uint32_t tag = (v >> kTagShift) & 3;
    if (tag != 0 && !TagBefore(text, s, tag == 1 ? '#' : '@')) return;
    if (!(v & kMultiWord)) {
      // All no-space script: its right edge needs no boundary.
      Hit(im, atom, static_cast<uint32_t>(s), static_cast<uint32_t>(end), widx, widx,
          (v & kPositions) != 0);
      return;
    }
    // The first word is found; Verify checks the words after it and the
    // right edge.
    size_t match_end;
    uint32_t adv;
    if (Verify(patterns_[atoms_[atom].index], text, end, 1, &match_end, &adv)) {
      Hit(im, atom, static_cast<uint32_t>(s), static_cast<uint32_t>(match_end), widx, widx + adv,
          (v & kPositions) != 0);
    }
  });
  if (nospace_.empty()) return;
  for (size_t i = b; i < e;) {
    const size_t pos = i;
    const char32_t cp = CpAt(text, &i);
    if (nospace_.MayStartWith(cp)) OnNoSpacePos(text, pos, cp, i, widx, im);
  }
}

void RuleSetImpl::FindRaw(std::string_view text, MatchScratch::Impl& im) const {
  const size_t n = text.size();
  size_t i = 0;
  char32_t prev = 0;
  bool has_prev = false;
  while (i < n) {
    size_t s = i;
    char32_t cp1 = CpAt(text, &i);
    char32_t cp2 = 0;
    if (i < n) {
      size_t j = i;
      cp2 = CpAt(text, &j);
    }
    if (!raw_index_.MayStartWith(cp1)) {
      prev = cp1;
      has_prev = true;
      continue;
    }
    uint8_t pf = has_prev ? CharFlags(flags_, prev) : 0;
    bool left_open = !has_prev || !(pf & kCharWord) || (pf & kCharNoSpace);
    internal::ForEachLiteral(raw_index_, raw_single_, cp1, cp2, [&](uint32_t atom) {
      const RawLiteral& r = raws_[atoms_[atom].index];
      if (r.first_boundary && !left_open) return;
      if (n - s < r.text.size() || std::memcmp(text.data() + s, r.text.data(), r.text.size()) != 0)
        return;
      size_t e = s + r.text.size();
      if (r.last_boundary && e < n) {
        size_t j = e;
        uint8_t f = CharFlags(flags_, CpAt(text, &j));
        if ((f & kCharWord) && !(f & kCharNoSpace)) return;
      }
      Hit(im, atom, static_cast<uint32_t>(s), static_cast<uint32_t>(e), kNone, kNone);
    });
    prev = cp1;
    has_prev = true;
  }
}

namespace {
// The spaced tokens of a text without no-space-script characters: its
// words, each one token (the tokenizer splits a word only where no-space
// script meets other characters).
struct WordTokens {
  const WordSpan* words;
  size_t n;
  size_t size() const { return n; }
  internal::TokenSpan operator[](size_t i) const {
    return {words[i].begin, words[i].end, static_cast<uint32_t>(i)};
  }
};
}  // namespace

// Phases 2 and on of FindAtoms, over its spaced tokens.
template <typename Tokens>
void RuleSetImpl::ProbeTokens(const Tokens& tokens, std::string_view text,
                              const MatchScratch& scratch, bool nospace, bool peel,
                              MatchScratch::Impl& im) const {
  const char* p = text.data();
  if (!exact_.empty()) {
    // Phase 2: hash and filter every token. The iterations are independent
    // and free of branches on the data (HashPadded: the text is padded), so
    // they overlap; most tokens end here.
    const size_t n = tokens.size();
    im.hashes.resize(n);
    im.passed.resize(n);
    size_t passed = 0;
    for (size_t i = 0; i < n; ++i) {
      const internal::TokenSpan t = tokens[i];
      const uint64_t h = internal::HashPadded(p + t.begin, t.end - t.begin);
      im.hashes[i] = h;
      im.passed[passed] = static_cast<uint32_t>(i);
      passed += exact_.MayContain(h);
    }
    // Their slots (most are real hits) are cache misses: start them all,
    // so they overlap, before phase 3 probes the tokens in text order.
    for (size_t k = 0; k < passed; ++k) exact_.Prefetch(im.hashes[im.passed[k]]);
    for (size_t k = 0; k < passed; ++k) {
      const internal::TokenSpan t = tokens[im.passed[k]];
      const uint32_t *vb, *ve;
      if (exact_.FindHashed(p + t.begin, t.end - t.begin, im.hashes[im.passed[k]], &vb, &ve)) {
        OnExactHits(text, TermStart{t.begin, t.begin, t.end, t.word, kPeelNone}, vb, ve, im);
      }
    }
  }
  if (!prefix_lens_.empty()) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      const internal::TokenSpan t = tokens[i];
      const unsigned bit = (static_cast<unsigned char>(p[t.begin]) << 8) |
                           (t.end - t.begin > 1 ? static_cast<unsigned char>(p[t.begin + 1]) : 0u);
      if (prefix_start_[bit >> 6] & (uint64_t{1} << (bit & 63))) {
        OnPrefixes(text, TermStart{t.begin, t.begin, t.end, t.word, kPeelNone}, im);
      }
    }
  }
  if (nospace && nospace_token_start_) {
    // Literals like "nike東京" start with another character: at spaced tokens.
    for (size_t i = 0; i < tokens.size(); ++i) {
      const internal::TokenSpan t = tokens[i];
      size_t next = t.begin;
      const char32_t cp = CpAt(text, &next);
      if (nospace_.MayStartWith(cp)) OnNoSpacePos(text, t.begin, cp, next, t.word, im);
    }
  }
  if (peel) FindPeeled(tokens, text, scratch, nospace, im);
}

void RuleSetImpl::FindAtoms(const MatchInput& in, const NormalizeInfo& info,
                            MatchScratch* scratch, MatchScratch::Impl& im) const {
  // HashPadded and the 8-byte literal compare read up to 16 bytes from a
  // token's start: keep them allocated.
  scratch->normalized.reserve(scratch->normalized.size() + 16);
  const std::string_view text = scratch->normalized;
  // Phase 1, the tokenizer: spaced tokens are collected; no-space runs are
  // probed as they come (literals with a no-space first word may start at
  // any code point of one). A text without no-space-script characters
  // keeps only its words: they are its spaced tokens.
  struct Probes {
    const RuleSetImpl& rs;
    MatchScratch::Impl& im;
    std::string_view text;
    bool nospace;
    [[gnu::always_inline]] void Spaced(uint32_t b, uint32_t e, uint32_t w) {
      im.tokens.push_back(internal::TokenSpan{b, e, w});
    }
    void NoSpace(uint32_t b, uint32_t e, uint32_t w) {
      if (nospace) rs.OnNoSpaceRun(text, b, e, w, im);
    }
  };
  struct WordProbes {
    bool split = false;  // a no-space run after all: the words are not the tokens
    [[gnu::always_inline]] void Spaced(uint32_t, uint32_t, uint32_t) {}
    void NoSpace(uint32_t, uint32_t, uint32_t) { split = true; }
  };
  const bool nospace = info.has_nospace_script && (!literals_.empty() || !nospace_.empty());
  const bool peel = has_proclitic_terms_ && !info.ascii;
  bool probed = false;
  if (!info.has_nospace_script) {
    WordProbes probes;
    internal::Tokenize(text, &scratch->words, probes);
    if (!probes.split) {
      ProbeTokens(WordTokens{scratch->words.data(), scratch->words.size()}, text, *scratch,
                  nospace, peel, im);
      probed = true;
    }
  }
  if (!probed) {
    im.tokens.clear();
    Probes probes{*this, im, text, nospace};
    internal::Tokenize(text, &scratch->words, probes);
    ProbeTokens(im.tokens, text, *scratch, nospace, peel, im);
  }
  if (scratch->nospace_vocabulary_hits.size() > 1) {
    // By begin, longest first (the scan gives them by end).
    std::sort(scratch->nospace_vocabulary_hits.begin(), scratch->nospace_vocabulary_hits.end(),
              [](const NoSpaceVocabularyHit& x, const NoSpaceVocabularyHit& y) {
                return x.begin != y.begin ? x.begin < y.begin : x.end > y.end;
              });
  }
  if (regex_set_) {
    im.re_matches.clear();
    regex_set_->Match(re2::StringPiece(text.data(), text.size()), &im.re_matches);
    for (int r : im.re_matches) Hit(im, regex_atom_[r], 0, 0, kNone, kNone);
  }
  if (!raws_.empty()) FindRaw(in.text, im);
}

void RuleSetImpl::CollectCandidates(MatchScratch::Impl& im) const {
  for (uint32_t a : im.hits) {
    for (uint32_t k = atom_rules_begin_[a]; k < atom_rules_begin_[a + 1]; ++k) {
      uint32_t r = atom_rules_[k];
      if (im.rule_stamp[r] != im.gen) {
        im.rule_stamp[r] = im.gen;
        im.cands.push_back(r);
      }
    }
  }
  for (uint32_t r : always_rules_) {
    if (im.rule_stamp[r] != im.gen) {
      im.rule_stamp[r] = im.gen;
      im.cands.push_back(r);
    }
  }
  std::sort(im.cands.begin(), im.cands.end());
}

// The smallest word distance between an occurrence of s.a and one of s.b
// (kFar when there is no pair), in one sweep over their occurrences by
// start: each occurrence is paired with the earlier occurrence of the other
// side that ends last, which is the closest one before it. Comparing every
// pair instead costs the square of the text's length when its author
// repeats the operands (tens of thousands of each in one long post).
int64_t RuleSetImpl::NearBest(const NearSpec& s, const MatchScratch::Impl& im) const {
  std::vector<NearItem>& items = im.near_items;
  items.clear();
  auto collect = [&](const std::vector<uint32_t>& atoms, bool b_side) {
    for (uint32_t atom : atoms) {
      if (!Hit(im, atom)) continue;
      // A tag term starts at its '#' or '@' (the byte before the word its
      // occurrence begins at), as explain shows it: `#nike NEAR/0f nike`
      // holds for "#nike".
      const uint32_t tag = patterns_[atoms_[atom].index].tag != 0 ? 1 : 0;
      for (uint32_t o = im.occ_head[atom]; o != kNone; o = im.occs[o].next) {
        const Occ& x = im.occs[o];
        items.push_back(NearItem{x.begin - tag, x.end, x.wbegin, x.wend, atom, b_side});
      }
    }
  };
  collect(s.a, false);
  collect(s.b, true);
  // By start; at the same start, B first, so that NEAR/nf's B sees only
  // the A occurrences that start before it.
  std::sort(items.begin(), items.end(), [](const NearItem& x, const NearItem& y) {
    return x.begin != y.begin ? x.begin < y.begin : x.b_side > y.b_side;
  });
  // Per side, the two latest word ends so far of distinct occurrences
  // (atom and span): one occurrence of one term is not near itself, but
  // two terms that match the same text (`nike`, `#nike` in "#nike") are.
  struct Latest {
    const NearItem* first = nullptr;
    const NearItem* second = nullptr;
    void Add(const NearItem& x) {
      if (first != nullptr && x.SameAs(*first)) return;
      if (first == nullptr || x.wend > first->wend) {
        second = first;
        first = &x;
      } else if (second == nullptr || (x.wend > second->wend && !x.SameAs(*second))) {
        second = &x;
      }
    }
    const NearItem* Excluding(const NearItem& x) const {
      return first != nullptr && x.SameAs(*first) ? second : first;
    }
  };
  Latest latest[2];
  int64_t best = kFar;
  for (const NearItem& z : items) {
    // NEAR/nf pairs an A with a later B only; NEAR pairs either way.
    if (z.b_side || !s.ordered) {
      if (const NearItem* before = latest[!z.b_side].Excluding(z)) {
        const int64_t d = std::max<int64_t>(
            0, static_cast<int64_t>(z.wbegin) - static_cast<int64_t>(before->wend) - 1);
        best = std::min(best, d);
        if (best == 0) break;
      }
    }
    latest[z.b_side].Add(z);
  }
  return best;
}

bool RuleSetImpl::FieldMatches(const FieldSpec& f, const MatchInput& in) const {
  std::string_view v;
  switch (f.kind) {
    case FieldKind::kLang:
      v = in.lang;
      break;
    case FieldKind::kCountry:
      v = in.country;
      break;
    case FieldKind::kPlatform:
      v = in.platform;
      break;
    case FieldKind::kAuthor:
      v = in.author;
      if (!v.empty() && v.front() == '@') v.remove_prefix(1);
      break;
  }
  if (v.empty()) return false;
  for (const auto& value : f.values) {
    if (EqualsIgnoreAsciiCase(v, value)) return true;
  }
  // A handle outside ASCII is compared by full case folding, as the rule's
  // values were folded (compiler.cc): "Straße" is author:STRASSE.
  auto non_ascii = [](char c) { return static_cast<unsigned char>(c) >= 0x80; };
  if (f.kind == FieldKind::kAuthor && std::any_of(v.begin(), v.end(), non_ascii)) {
    const std::string folded = FoldCase(v);
    for (const auto& value : f.values) {
      if (folded == value) return true;
    }
  }
  return false;
}

bool RuleSetImpl::Eval(uint32_t id, const MatchInput& in, const MatchScratch::Impl& im) const {
  const EvalNode& n = eval_nodes_[id];
  switch (n.op) {
    case Op::kTrue:
      return true;
    case Op::kAtom:
      return Hit(im, n.arg);
    case Op::kNear: {
      const NearSpec& s = nears_[n.arg];
      return NearBest(s, im) <= s.distance;
    }
    case Op::kField:
      return FieldMatches(fields_[n.arg], in);
    case Op::kAnd:
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        if (!Eval(child_ids_[i], in, im)) return false;
      }
      return true;
    case Op::kOr:
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        if (Eval(child_ids_[i], in, im)) return true;
      }
      return false;
    case Op::kNot:
      return !Eval(child_ids_[n.cbegin], in, im);
  }
  return false;
}

void RuleSetImpl::Match(const MatchInput& in, MatchScratch* scratch, MatchOutput* out) const {
  out->clear();
  MatchScratch::Impl& im = Prepare(scratch);
  im.record_all = false;
  NormalizeInfo info;
  if (in.normalized == nullptr) {
    info = Normalize(in.text, &scratch->normalized);
  } else {
    if (in.normalized != scratch) scratch->normalized.assign(in.normalized->normalized);
    info.has_nospace_script = in.normalized->has_nospace_script;
    info.ascii = in.normalized->ascii;
  }
  scratch->has_nospace_script = info.has_nospace_script;
  scratch->ascii = info.ascii;
  FindAtoms(in, info, scratch, im);
  CollectCandidates(im);
  for (uint32_t r : im.cands) {
    if (!rule_any_atom_[r] && !Eval(rule_root_[r], in, im)) continue;
    if (r < brand_rules_) out->brands.push_back(r);
    else out->topics.push_back(r - brand_rules_);
  }
}

// ---------------------------------------------------------------------------
// Explain.

std::string Quote(std::string_view s) {
  std::string r = "\"";
  for (char c : s) {
    if (c == '\n') {
      r += "\\n";
      continue;
    }
    r += c;
  }
  return r + "\"";
}

std::string AtomLabel(const Atom& a) {
  switch (a.kind) {
    case AtomKind::kTerm:
      return "term " + Quote(a.display);
    case AtomKind::kRegex:
      return "regex " + Quote(a.display);
    case AtomKind::kRaw:
      return "raw " + Quote(a.display);
  }
  return "?";
}

std::string RuleSetImpl::WhyFalse(uint32_t id, const MatchInput& in,
                                  const MatchScratch::Impl& im) const {
  const Node& n = nodes_[id];
  switch (n.op) {
    case Op::kAnd:
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        if (!Eval(child_ids_[i], in, im)) return WhyFalse(child_ids_[i], in, im);
      }
      return n.text + " failed";
    case Op::kNot:
      return n.text + " failed";
    case Op::kNear: {
      int64_t best = NearBest(nears_[n.arg], im);
      if (best == kFar) return n.text + ": operands not found together";
      return n.text + ": closest distance " + std::to_string(best) + " words";
    }
    case Op::kField: {
      const FieldSpec& f = fields_[n.arg];
      std::string_view v = f.kind == FieldKind::kLang      ? in.lang
                           : f.kind == FieldKind::kCountry ? in.country
                           : f.kind == FieldKind::kAuthor  ? in.author
                                                           : in.platform;
      return n.text + " does not match " + (v.empty() ? std::string("(none)") : Quote(v));
    }
    default:
      return n.text + " not matched";
  }
}

std::string RuleSetImpl::WhyNotFired(const Rule& r, const MatchInput& in,
                                     const MatchScratch::Impl& im) const {
  if (r.terms_node != kNone && !Eval(r.terms_node, in, im)) return "no term matched";
  if (r.exclude_node != kNone) {
    for (uint32_t a : r.exclude_atoms) {
      if (Hit(im, a)) return "excluded by " + Quote(atoms_[a].display);
    }
  }
  if (r.platform_node != kNone && !Eval(r.platform_node, in, im)) {
    std::string_view p = in.platform;
    return "platform filter [" + Join(r.platforms, ", ") + "] does not include " +
           (p.empty() ? std::string("(none)") : std::string(p));
  }
  if (r.lang_node != kNone && !Eval(r.lang_node, in, im)) {
    return "language filter [" + Join(r.languages, ", ") + "] does not include " +
           (in.lang.empty() ? std::string("(no lang)") : std::string(in.lang));
  }
  if (r.query_node != kNone && !Eval(r.query_node, in, im)) return WhyFalse(r.query_node, in, im);
  return "did not match";
}

void RuleSetImpl::CollectFiring(uint32_t id, const MatchInput& in, const MatchScratch::Impl& im,
                                std::vector<bool>* firing) const {
  const Node& n = nodes_[id];
  switch (n.op) {
    case Op::kAtom:
      if (Hit(im, n.arg)) (*firing)[n.arg] = true;
      return;
    case Op::kAnd:
    case Op::kOr:
      for (uint32_t i = n.cbegin; i < n.cend; ++i) {
        if (Eval(child_ids_[i], in, im)) CollectFiring(child_ids_[i], in, im, firing);
      }
      return;
    case Op::kNear:
      if (!Eval(id, in, im)) return;
      for (const auto* side : {&nears_[n.arg].a, &nears_[n.arg].b}) {
        for (uint32_t a : *side) {
          if (Hit(im, a)) (*firing)[a] = true;
        }
      }
      return;
    default:  // NOT, a field, true: no term of theirs made the rule fire
      return;
  }
}

std::vector<std::string> RuleSetImpl::FiredAtoms(const Rule& rule, const MatchInput& in,
                                                 const MatchScratch::Impl& im) const {
  std::vector<bool> firing(atoms_.size());
  CollectFiring(rule.root, in, im, &firing);
  std::vector<std::string> why;
  for (uint32_t a : rule.positive_atoms) {
    if (firing[a]) why.push_back(AtomLabel(atoms_[a]));
  }
  return why;
}

std::string RuleSetImpl::Explain(const MatchInput& in) const {
  MatchScratch scratch;
  MatchScratch::Impl& im = Prepare(&scratch);
  im.record_all = true;
  std::vector<uint32_t> offsets;
  NormalizeInfo info = Normalize(in.text, &scratch.normalized, &offsets);
  FindAtoms(in, info, &scratch, im);
  std::string_view norm = scratch.normalized;

  struct Line {
    uint32_t begin, end, atom;
    std::string proclitic;  // as the text writes it, "" when none
  };
  std::vector<Line> lines;
  // A hit's end in the original text. Where normalizing changed a chunk
  // (an expansion such as ㍿ -> 株式, a character and the marks it
  // composes with), its bytes all carry the chunk's start: a hit that ends
  // inside one runs to the chunk's end, so the span shows whole characters.
  auto original_end = [&](uint32_t e) {
    if (e == 0 || e >= norm.size() || offsets[e] != offsets[e - 1]) return offsets[e];
    while (e < norm.size() && offsets[e] == offsets[e - 1]) ++e;
    return offsets[e];
  };
  for (uint32_t a : im.hits) {
    const Atom& atom = atoms_[a];
    if (atom.kind == AtomKind::kRegex) {
      re2::StringPiece m;
      if (regexes_[atom.index]->Match(re2::StringPiece(norm.data(), norm.size()), 0, norm.size(),
                                      RE2::UNANCHORED, &m, 1)) {
        uint32_t b = static_cast<uint32_t>(m.data() - norm.data());
        uint32_t e = b + static_cast<uint32_t>(m.size());
        lines.push_back({offsets[b], original_end(e), a, ""});
      }
      continue;
    }
    for (uint32_t o = im.occ_head[a]; o != kNone; o = im.occs[o].next) {
      const Occ& occ = im.occs[o];
      if (atom.kind == AtomKind::kRaw) {
        lines.push_back({occ.begin, occ.end, a, ""});
        continue;
      }
      // The proclitic joined to the term, always one of the seven: the
      // peeled prefix. A term with its own ال was peeled of the form its
      // ال is written in: written alone, that is no proclitic; وال is و
      // joined to the term; بال, كال, فال and لل stay whole (ب, ك, ف and
      // ل alone are no proclitics).
      std::string proclitic(norm.substr(occ.begin, occ.prefix));
      if (patterns_[atom.index].proclitic == kProcliticArticle) {
        if (proclitic == kArticle) proclitic.clear();
        else if (proclitic == kWawArticle) proclitic = kWaw;
      }
      // A tag term's span starts at its '#' or '@' (an occurrence begins
      // at the word after it), as a phrase's later tags are inside it.
      uint32_t begin = occ.begin;
      const char tag = patterns_[atom.index].tag;
      if (tag != 0 && begin > 0 && norm[begin - 1] == tag) --begin;
      lines.push_back({offsets[begin], original_end(occ.end), a, std::move(proclitic)});
    }
  }
  std::sort(lines.begin(), lines.end(), [](const Line& x, const Line& y) {
    return std::tie(x.begin, x.end, x.atom) < std::tie(y.begin, y.end, y.atom);
  });
  std::string out = "normalized: " + std::string(norm) + "\n";
  if (lines.empty()) out += "  (no term, regex or raw hits)\n";
  // One line per distinct hit: the same term written in a file with
  // proclitics and in one without them is two atoms, but one hit to read.
  // Equal lines have equal offsets, so they are among the lines of one span.
  std::vector<std::string> shown;
  size_t span_start = 0;  // the first line shown for the current offsets
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (i > 0 && (l.begin != lines[i - 1].begin || l.end != lines[i - 1].end)) {
      span_start = shown.size();
    }
    std::string line = "  " + AtomLabel(atoms_[l.atom]) + " at bytes " + std::to_string(l.begin) +
                       "-" + std::to_string(l.end) + " (" +
                       Quote(in.text.substr(l.begin, l.end - l.begin)) +
                       (l.proclitic.empty() ? "" : ", proclitic " + l.proclitic) + ")\n";
    if (std::find(shown.begin() + span_start, shown.end(), line) == shown.end()) {
      shown.push_back(std::move(line));
    }
  }
  for (const std::string& line : shown) out += line;
  CollectCandidates(im);
  std::string fired, not_fired;
  for (uint32_t r : im.cands) {
    const Rule& rule = rules_[r];
    bool had_hit = false;
    for (uint32_t a : im.hits) {
      if (std::find(atom_rules_.begin() + atom_rules_begin_[a],
                    atom_rules_.begin() + atom_rules_begin_[a + 1], r) !=
          atom_rules_.begin() + atom_rules_begin_[a + 1]) {
        had_hit = true;
      }
    }
    if (Eval(rule.root, in, im)) {
      const std::vector<std::string> why = FiredAtoms(rule, in, im);
      fired += "fired: " + rule.label + " (" + (why.empty() ? "no term needed" : Join(why, ", ")) +
               ")\n";
    } else if (had_hit) {
      not_fired += "not fired: " + rule.label + ": " + WhyNotFired(rule, in, im) + "\n";
    }
  }
  if (fired.empty()) fired = "no rule fired\n";
  return out + fired + not_fired;
}


std::string RuleSetImpl::FiredBy(const MatchInput& in, uint32_t brand) const {
  if (brand >= brand_rules_) return "";
  MatchScratch scratch;
  MatchScratch::Impl& im = Prepare(&scratch);
  im.record_all = false;
  const NormalizeInfo info = Normalize(in.text, &scratch.normalized);
  FindAtoms(in, info, &scratch, im);
  const Rule& rule = rules_[brand];
  if (!Eval(rule.root, in, im)) return "";
  std::vector<std::string> why;
  if (rule.query_node != kNone) why.push_back("query " + Quote(rule.query_text));
  for (std::string& atom : FiredAtoms(rule, in, im)) why.push_back(std::move(atom));
  return why.empty() ? "no term needed" : Join(why, ", ");
}

}  // namespace internal
}  // namespace earshot::rules
