// Log fields: hostile values (labels, keys) never break a record's single line.
#include "common/log.h"

#include <gmock/gmock.h>

namespace nixsnap::testing {
namespace {

using ::testing::HasSubstr;

TEST(LogTest, PlainValuesAreWrittenAsIs) {
  EXPECT_EQ(log::formatFields({{"key", "default/3/k"}, {"id", "7"}}), " key=default/3/k id=7");
}

TEST(LogTest, ValuesWithSpacesQuotesOrEqualsAreQuotedAndEscaped) {
  EXPECT_EQ(log::formatFields({{"error", "say \"hi\" a=b"}}), " error=\"say \\\"hi\\\" a=b\"");
  EXPECT_EQ(log::formatFields({{"v", ""}}), " v=\"\"");
  EXPECT_EQ(log::formatFields({{"v", "a\\b"}}), " v=\"a\\\\b\"");
}

TEST(LogTest, ControlBytesAndNulAreEscapedSoARecordStaysOneLine) {
  std::string hostile("x\0y\nz\r\t\x1b[2J\x7f", 12);
  std::string out = log::formatFields({{"key", hostile}});
  EXPECT_EQ(out, " key=\"x\\x00y\\nz\\r\\t\\x1b[2J\\x7f\"");
  for (char c : out) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << int(c);
  }
}

TEST(LogTest, HugeValuesAreCutAndSayTheirSize) {
  std::string out = log::formatFields({{"label", std::string(100000, 'a')}});
  EXPECT_LT(out.size(), log::kMaxFieldBytes + 64);
  EXPECT_THAT(out, HasSubstr("...(100000 bytes)\""));
}

TEST(LogTest, EscapeControlsDisarmsTerminalEscapesKeepsText) {
  using std::string_literals::operator""s;
  EXPECT_EQ(log::escapeControls("realm \x1b]0;pwned\x07 x\n\0y"s),
            "realm \\x1b]0;pwned\\x07 x\\x0a\\x00y");
  EXPECT_EQ(log::escapeControls("csi \xc2\x9b"
                                "2K"),
            "csi \\u009b2K");  // C1 CSI in UTF-8
  EXPECT_EQ(log::escapeControls("caf\xc3\xa9 \xc2\xa0ok"), "caf\xc3\xa9 \xc2\xa0ok");
  EXPECT_EQ(log::escapeControls("trailing \xc2"), "trailing \xc2");
}

}  // namespace
}  // namespace nixsnap::testing

namespace nixsnap::testing {
namespace {

TEST(LogLevelTest, ParsesEveryLevelTheOriginalAccepts) {
  const std::pair<const char*, log::Level> cases[] = {
      {"trace", log::Level::Trace}, {"debug", log::Level::Debug},  {"info", log::Level::Info},
      {"warn", log::Level::Warn},   {"warning", log::Level::Warn}, {"error", log::Level::Error},
      {"fatal", log::Level::Error}, {"panic", log::Level::Error}};
  for (const auto& [text, want] : cases) {
    log::Level got = log::Level::Trace == want ? log::Level::Info : log::Level::Trace;
    ASSERT_TRUE(log::parseLevel(text, got)) << text;
    EXPECT_EQ(got, want) << text;
  }
}

TEST(LogLevelTest, IgnoresLetterCaseAsLogrusDoes) {
  log::Level got = log::Level::Info;
  ASSERT_TRUE(log::parseLevel("DEBUG", got));
  EXPECT_EQ(got, log::Level::Debug);
  ASSERT_TRUE(log::parseLevel("Fatal", got));
  EXPECT_EQ(got, log::Level::Error);
}

TEST(LogLevelTest, RejectsUnknownLevelsAndLeavesTheOutputAlone) {
  for (const char* bad : {"", "verbose", "err", "info ", "critical", "panic\n"}) {
    log::Level got = log::Level::Warn;
    EXPECT_FALSE(log::parseLevel(bad, got)) << bad;
    EXPECT_EQ(got, log::Level::Warn) << bad;
  }
}

}  // namespace
}  // namespace nixsnap::testing
