#include "tokenizer/builtin_vocab.h"

#ifndef HCLIP_BUILTIN_VOCAB_GZ
#error "HCLIP_BUILTIN_VOCAB_GZ must be the quoted path of the vocabulary to embed"
#endif

// GNU as syntax shared by x86-64 and aarch64; the symbols are hidden so no GOT indirection is needed.
asm(".pushsection .rodata.hclip_builtin_vocab, \"a\"\n"
    ".balign 16\n"
    ".globl hclip_builtin_vocab_gz_begin\n"
    ".hidden hclip_builtin_vocab_gz_begin\n"
    "hclip_builtin_vocab_gz_begin:\n"
    ".incbin \"" HCLIP_BUILTIN_VOCAB_GZ
    "\"\n"
    ".globl hclip_builtin_vocab_gz_end\n"
    ".hidden hclip_builtin_vocab_gz_end\n"
    "hclip_builtin_vocab_gz_end:\n"
    ".popsection\n");

extern "C" {
extern const std::uint8_t hclip_builtin_vocab_gz_begin[] __attribute__((visibility("hidden")));
extern const std::uint8_t hclip_builtin_vocab_gz_end[] __attribute__((visibility("hidden")));
}

namespace hclip {

std::span<const std::uint8_t> builtin_vocab_gz() {
    return {hclip_builtin_vocab_gz_begin, hclip_builtin_vocab_gz_end};
}

}  // namespace hclip
