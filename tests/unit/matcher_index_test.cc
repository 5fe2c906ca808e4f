#include "rules/matcher_index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace earshot::rules::internal {
namespace {

// The matcher hashes tokens with HashPadded (two loads, no length branch)
// and the index its keys with HashBytes (reads exactly the key): they must
// be the same function of the key's bytes, whatever follows the key.
TEST(MatcherIndexTest, PaddedAndExactHashesAgree) {
  std::mt19937 rng(3);
  std::string buf;
  for (int iter = 0; iter < 20000; ++iter) {
    const size_t n = rng() % 41;
    buf.assign(n + 16, '\0');
    for (auto& c : buf) c = static_cast<char>(rng());  // garbage after the key too
    const uint64_t exact = HashBytes(buf.data(), n);
    ASSERT_EQ(HashPadded(buf.data(), n), exact) << "length " << n;
    // A copy with other trailing bytes hashes the same.
    std::string other = buf.substr(0, n) + std::string(16, '\x7f');
    ASSERT_EQ(HashPadded(other.data(), n), exact) << "length " << n;
  }
}

TEST(MatcherIndexTest, FindAndTwoStepFindAgree) {
  StringIndex index;
  std::vector<std::pair<std::string, uint32_t>> items = {
      {"nike", 1}, {"nike", 2}, {"adidas", 3}, {"a", 4}, {"", 5},
      {"sixteen_bytes_xx", 6}, {"seventeen_bytes_x", 7}, {"نايكي", 8}};
  index.Build(items);
  for (const auto& [key, value] : items) {
    const uint32_t *b, *e;
    ASSERT_TRUE(index.Find(key.data(), static_cast<uint32_t>(key.size()), &b, &e)) << key;
    std::string padded = key + std::string(16, 'z');
    const uint64_t h = HashPadded(padded.data(), key.size());
    ASSERT_TRUE(index.MayContain(h)) << key;
    const uint32_t *b2, *e2;
    ASSERT_TRUE(index.FindHashed(padded.data(), static_cast<uint32_t>(key.size()), h, &b2, &e2));
    EXPECT_EQ(b, b2);
    EXPECT_EQ(e, e2);
  }
  const uint32_t *b, *e;
  EXPECT_FALSE(index.Find("nik", 3, &b, &e));
  EXPECT_FALSE(index.Find("nikes", 5, &b, &e));
  ASSERT_TRUE(index.Find("nike", 4, &b, &e));
  EXPECT_EQ(std::vector<uint32_t>(b, e), (std::vector<uint32_t>{1, 2}));
}

}  // namespace
}  // namespace earshot::rules::internal
