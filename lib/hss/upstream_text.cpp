// upstream_text (see upstream_text.hpp).
#include "hss/upstream_text.hpp"

#include <algorithm>
#include <cstdint>

namespace hssjw {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else
    return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  if (overlong || surrogate || cp > 0x10FFFF) return 0;
  return len;
}

void append_hex_escape(std::string& out, unsigned char c) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[c >> 4];
  out += digits[c & 0x0F];
}

}  // namespace

std::string upstream_text(std::string_view in, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(in.size(), max_bytes) + 8);
  std::string piece;  // what one input character becomes
  for (std::size_t i = 0; i < in.size();) {
    piece.clear();
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t used = 1;
    if (c == '\n' || c == '\r' || c == '\t') {
      piece = " ";
    } else if (c < 0x20 || c == 0x7F) {
      append_hex_escape(piece, c);
    } else if (c < 0x80) {
      piece = static_cast<char>(c);
    } else if (const std::size_t len = utf8_sequence_length(in, i); len != 0) {
      // C1 controls (U+0080..U+009F) are as dangerous as C0 ones.
      const bool c1 = len == 2 && c == 0xC2 && static_cast<unsigned char>(in[i + 1]) < 0xA0;
      if (c1)
        append_hex_escape(piece, static_cast<unsigned char>(in[i + 1]));
      else
        piece = in.substr(i, len);
      used = len;
    } else {
      append_hex_escape(piece, c);
    }
    // Whole characters and escapes only: a cut never splits one.
    if (out.size() + piece.size() > max_bytes) {
      out += "...";
      break;
    }
    out += piece;
    i += used;
  }
  return out;
}

}  // namespace hssjw
