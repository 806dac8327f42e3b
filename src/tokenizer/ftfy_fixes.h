// The deterministic part of ftfy.fix_text (ftfy 6 defaults), which the reference runs first.
#pragma once

#include <string>
#include <string_view>

namespace hclip {

// Per line, repeated until nothing changes: HTML references (unless the text has a '<'), C1 controls as
// Windows-1252, Latin ligatures, full-/half-width forms, curly quotes, line breaks, terminal escapes, control
// characters, NFC. ftfy's mojibake detection (fix_encoding) is heuristic and is not reproduced.
std::u32string ftfy_fix_text(std::u32string_view text);

// Unicode NFC.
std::u32string nfc_normalize(std::u32string_view text);

}  // namespace hclip
