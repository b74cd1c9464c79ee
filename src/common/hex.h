#pragma once

#include <string>
#include <string_view>

namespace nixsnap {

/// Which letters hex digits 10..15 are written with: lower case for digests, ids and log
/// escapes; upper case where a standard asks for it (URI percent-encoding, RFC 3986).
enum class HexCase { Lower, Upper };

/// The hex digit of `nibble` (its low four bits).
char hexDigit(unsigned nibble, HexCase letters = HexCase::Lower);

/// Appends the two hex digits of `byte`, high nibble first.
void appendHexByte(std::string& out, unsigned char byte, HexCase letters = HexCase::Lower);

/// Every byte of `bytes` as two hex digits, high nibble first: "\x01\xab" -> "01ab".
std::string hexEncode(std::string_view bytes, HexCase letters = HexCase::Lower);

/// True when every character of `text` is one of 0-9a-f (true for ""); callers check
/// the length their format wants.
bool isLowerHex(std::string_view text);

}  // namespace nixsnap
