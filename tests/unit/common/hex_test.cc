#include "common/hex.h"

#include <gtest/gtest.h>

#include <string>

namespace nixsnap {
namespace {

TEST(HexTest, DigitsOfEveryNibbleInBothCases) {
  std::string lower;
  std::string upper;
  for (unsigned n = 0; n < 16; ++n) {
    lower += hexDigit(n);
    upper += hexDigit(n, HexCase::Upper);
  }
  EXPECT_EQ(lower, "0123456789abcdef");
  EXPECT_EQ(upper, "0123456789ABCDEF");
  EXPECT_EQ(hexDigit(0x1a), 'a');  // only the low four bits count
}

TEST(HexTest, BytesHighNibbleFirst) {
  std::string out = "x";
  appendHexByte(out, 0x0f);
  appendHexByte(out, 0xa5, HexCase::Upper);
  EXPECT_EQ(out, "x0fA5");
}

TEST(HexTest, EncodesEveryByteValue) {
  EXPECT_EQ(hexEncode(""), "");
  EXPECT_EQ(hexEncode(std::string("\x00\x01\x7f\x80\xff", 5)), "00017f80ff");
  EXPECT_EQ(hexEncode("\xde\xad", HexCase::Upper), "DEAD");
  std::string all;
  for (int b = 0; b < 256; ++b) {
    all += static_cast<char>(b);
  }
  const std::string hex = hexEncode(all);
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 6), "000102");
  EXPECT_EQ(hex.substr(506), "fdfeff");
}

TEST(HexTest, LowerHexAcceptsOnlyLowerCaseDigits) {
  EXPECT_TRUE(isLowerHex(""));
  EXPECT_TRUE(isLowerHex("0123456789abcdef"));
  EXPECT_FALSE(isLowerHex("ABCDEF"));
  EXPECT_FALSE(isLowerHex("12g4"));
  EXPECT_FALSE(isLowerHex(std::string("ab\0cd", 5)));
}

}  // namespace
}  // namespace nixsnap
