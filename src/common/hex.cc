#include "common/hex.h"

namespace nixsnap {

char hexDigit(unsigned nibble, HexCase letters) {
  static constexpr char kLower[] = "0123456789abcdef";
  static constexpr char kUpper[] = "0123456789ABCDEF";
  return (letters == HexCase::Upper ? kUpper : kLower)[nibble & 0xfU];
}

void appendHexByte(std::string& out, unsigned char byte, HexCase letters) {
  out += hexDigit(byte >> 4U, letters);
  out += hexDigit(byte, letters);
}

std::string hexEncode(std::string_view bytes, HexCase letters) {
  std::string out;
  out.reserve(2 * bytes.size());
  for (char c : bytes) {
    appendHexByte(out, static_cast<unsigned char>(c), letters);
  }
  return out;
}

bool isLowerHex(std::string_view text) {
  return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace nixsnap
