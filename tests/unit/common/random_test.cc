#include "common/random.h"

#include <gtest/gtest.h>

#include "mocks/common_mocks.h"

namespace nixsnap {
namespace {

TEST(RandomHexTest, DrawsLowercaseHexFromTheSource) {
  testing::CountingRandom random;  // 1, 2, ...: the low nibble comes first
  EXPECT_EQ(randomHex(random, 4), "1000");
  EXPECT_EQ(randomHex(random, 18), "200000000000000030");
}

TEST(RandomHexTest, SystemRandomGivesDistinctNames) {
  RandomPtr random = makeSystemRandom();
  std::string a = randomHex(*random, 16);
  std::string b = randomHex(*random, 16);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace nixsnap
