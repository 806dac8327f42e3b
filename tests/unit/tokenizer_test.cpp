// The CLIP tokenizer against OpenAI's reference outputs (tokenizer/cases.jsonl) and its documented behaviour.
#include "tokenizer/clip_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/temp_dir.h"
#include "tokenizer/gunzip.h"
#include "tokenizer/text_normalize.h"
#include "tokenizer/utf8.h"

namespace hclip {
namespace {

struct TokenizerCase {
    std::string text;
    std::vector<std::int32_t> ids;
    bool truncated = false;
};

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<TokenizerCase> load_cases() {
    const std::string path = testing::fixture("tokenizer/cases.jsonl");
    std::ifstream in(path);
    std::vector<TokenizerCase> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto json = nlohmann::json::parse(line);
        cases.push_back({json.at("text").get<std::string>(), json.at("ids").get<std::vector<std::int32_t>>(),
                         json.at("truncated").get<bool>()});
    }
    return cases;
}

std::string ids_string(const std::vector<std::int32_t>& ids) {
    std::string s = "[";
    for (std::size_t i = 0; i < ids.size(); ++i)
        s += (i ? ", " : "") + std::to_string(ids[i]);
    return s + "]";
}

// Every fixture case must match exactly; mismatches are listed with text, expected and got ids.
void expect_all_cases_exact(const ClipTokenizer& tokenizer, const char* label) {
    const std::vector<TokenizerCase> cases = load_cases();
    ASSERT_GT(cases.size(), 1000u) << "fixture missing or short: " << testing::fixture("tokenizer/cases.jsonl");
    std::size_t mismatches = 0;
    for (const TokenizerCase& c : cases) {
        const TokenizedText got = tokenizer.encode(c.text);
        const bool ok = got.ids == c.ids && got.truncated == c.truncated;
        if (!ok && ++mismatches <= 20) {
            ADD_FAILURE() << label << ": text " << nlohmann::json(c.text).dump() << "\n  expected " << ids_string(c.ids)
                          << (c.truncated ? " (truncated)" : "") << "\n  got      " << ids_string(got.ids)
                          << (got.truncated ? " (truncated)" : "");
        }
        EXPECT_GE(got.full_length, got.ids.size());
        EXPECT_EQ(got.truncated, got.full_length > static_cast<std::size_t>(kContextLength));
    }
    EXPECT_EQ(mismatches, 0u) << label << ": " << mismatches << " of " << cases.size() << " cases differ";
    std::printf("[ %s ] %zu cases, %zu mismatches\n", label, cases.size(), mismatches);
}

const ClipTokenizer& builtin() {
    static const ClipTokenizer tokenizer = [] {
        auto t = ClipTokenizer::from_builtin();
        EXPECT_TRUE(t.ok()) << t.status().to_string();
        return t.ok() ? std::move(t).value() : ClipTokenizer();
    }();
    return tokenizer;
}

std::vector<std::int32_t> ids_of(std::string_view text) {
    return builtin().encode(text).ids;
}

// The text the BPE sees: after ftfy, html.unescape twice, whitespace cleanup and lowercasing.
std::string cleaned(std::string_view text) {
    return encode_utf8(normalize_for_clip(text));
}

using testing::TempDir;

// GPT-2's bytes_to_unicode, written out again so the Hugging Face files are built independently of the loader.
std::vector<std::string> byte_alphabet_in_vocab_order() {
    std::vector<int> order;
    auto printable = [](int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255); };
    for (int b = 0; b < 256; ++b) {
        if (printable(b)) order.push_back(b);
    }
    std::vector<std::string> symbols(256);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
        const int code = printable(b) ? b : 256 + extra++;
        std::string s;
        if (code < 0x80) {
            s.push_back(static_cast<char>(code));
        } else {
            s.push_back(static_cast<char>(0xC0 | (code >> 6)));
            s.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        }
        symbols[static_cast<std::size_t>(b)] = s;
        if (!printable(b)) order.push_back(b);
    }
    std::vector<std::string> out;
    for (int b : order)
        out.push_back(symbols[static_cast<std::size_t>(b)]);
    return out;
}

// Writes vocab.json + merges.txt equivalent to the fixture's bpe_simple_vocab_16e6.txt.gz into `dir`.
void write_hf_files(const std::filesystem::path& dir) {
    const std::string gz = read_all(testing::fixture("vocab/bpe_simple_vocab_16e6.txt.gz"));
    auto text = gunzip({reinterpret_cast<const std::uint8_t*>(gz.data()), gz.size()}, 64u << 20);
    ASSERT_TRUE(text.ok()) << text.status().to_string();
    std::vector<std::string> lines;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    ASSERT_GT(lines.size(), 48895u);

    std::vector<std::string> vocab = byte_alphabet_in_vocab_order();
    for (std::size_t i = 0; i < 256; ++i)
        vocab.push_back(vocab[i] + "</w>");
    std::ofstream merges(dir / "merges.txt", std::ios::binary);
    merges << "#version: 0.2\n";
    for (std::size_t i = 1; i <= 48894; ++i) {
        merges << lines[i] << "\n";
        const std::size_t space = lines[i].find(' ');
        vocab.push_back(lines[i].substr(0, space) + lines[i].substr(space + 1));
    }
    vocab.push_back("<|startoftext|>");
    vocab.push_back("<|endoftext|>");
    nlohmann::json json = nlohmann::json::object();
    for (std::size_t id = 0; id < vocab.size(); ++id)
        json[vocab[id]] = id;
    std::ofstream(dir / "vocab.json", std::ios::binary) << json.dump();
}

TEST(ClipTokenizer, BuiltinMatchesEveryFixtureCase) {
    expect_all_cases_exact(builtin(), "builtin");
    EXPECT_EQ(builtin().vocab_size(), 49408u);
}

TEST(ClipTokenizer, FixtureGzMatchesEveryFixtureCase) {
    auto tokenizer = ClipTokenizer::from_bpe_gz(testing::fixture("vocab/bpe_simple_vocab_16e6.txt.gz"));
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
    EXPECT_EQ(tokenizer->vocab_size(), 49408u);
    expect_all_cases_exact(*tokenizer, "bpe gz");
}

TEST(ClipTokenizer, HuggingFaceFilesMatchEveryFixtureCase) {
    TempDir dir;
    write_hf_files(dir.path());
    auto tokenizer =
        ClipTokenizer::from_hf_files((dir.path() / "vocab.json").string(), (dir.path() / "merges.txt").string());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
    EXPECT_EQ(tokenizer->vocab_size(), 49408u);
    expect_all_cases_exact(*tokenizer, "hf files");

    // from_model_dir prefers the Hugging Face pair.
    auto from_dir = ClipTokenizer::from_model_dir(dir.path().string());
    ASSERT_TRUE(from_dir.ok()) << from_dir.status().to_string();
    EXPECT_EQ(from_dir->encode("a photo of a cat").ids, ids_of("a photo of a cat"));
}

TEST(ClipTokenizer, ModelDirFallsBackToGzThenBuiltin) {
    TempDir dir;
    auto empty = ClipTokenizer::from_model_dir(dir.path().string());
    ASSERT_TRUE(empty.ok()) << empty.status().to_string();
    EXPECT_EQ(empty->encode("a dog").ids, (std::vector<std::int32_t>{49406, 320, 1929, 49407}));

    std::filesystem::copy_file(testing::fixture("vocab/bpe_simple_vocab_16e6.txt.gz"),
                               dir.path() / "bpe_simple_vocab_16e6.txt.gz");
    auto gz = ClipTokenizer::from_model_dir(dir.path().string());
    ASSERT_TRUE(gz.ok()) << gz.status().to_string();
    EXPECT_EQ(gz->encode("a dog").ids, (std::vector<std::int32_t>{49406, 320, 1929, 49407}));
}

TEST(ClipTokenizer, PublishedIds) {
    EXPECT_EQ(ids_of("a diagram"), (std::vector<std::int32_t>{49406, 320, 22697, 49407}));
    EXPECT_EQ(ids_of("a dog"), (std::vector<std::int32_t>{49406, 320, 1929, 49407}));
    EXPECT_EQ(ids_of("a cat"), (std::vector<std::int32_t>{49406, 320, 2368, 49407}));
    EXPECT_EQ(ids_of("a photo of a cat"), (std::vector<std::int32_t>{49406, 320, 1125, 539, 320, 2368, 49407}));
    EXPECT_EQ(ids_of("Hello World!"), (std::vector<std::int32_t>{49406, 3306, 1002, 256, 49407}));
}

TEST(ClipTokenizer, LoadErrorsAreStatuses) {
    auto missing = ClipTokenizer::from_bpe_gz("/nonexistent/bpe.txt.gz");
    EXPECT_FALSE(missing.ok());

    TempDir dir;
    const auto corrupt = dir.path() / "corrupt.gz";
    std::ofstream(corrupt, std::ios::binary) << "definitely not gzip";
    auto bad_gz = ClipTokenizer::from_bpe_gz(corrupt.string());
    EXPECT_EQ(bad_gz.status().code(), StatusCode::kDataLoss) << bad_gz.status().to_string();

    const auto vocab = dir.path() / "vocab.json";
    const auto merges = dir.path() / "merges.txt";
    std::ofstream(vocab) << "{not json";
    std::ofstream(merges) << "#version: 0.2\na b\n";
    auto bad_json = ClipTokenizer::from_hf_files(vocab.string(), merges.string());
    EXPECT_EQ(bad_json.status().code(), StatusCode::kDataLoss) << bad_json.status().to_string();

    std::ofstream(vocab) << R"({"a": 0, "b": 1})";
    auto incomplete = ClipTokenizer::from_hf_files(vocab.string(), merges.string());
    EXPECT_EQ(incomplete.status().code(), StatusCode::kDataLoss) << incomplete.status().to_string();
}

TEST(ClipTokenizer, DefaultConstructedIsEmpty) {
    const ClipTokenizer empty;
    EXPECT_TRUE(empty.encode("a cat").ids.empty());
    EXPECT_EQ(empty.vocab_size(), 0u);
}

// ftfy's user-visible fixes: NFC, curly quotes, full-width forms (and ligatures, C1 controls).
TEST(ClipTokenizer, FtfyFixesAreApplied) {
    EXPECT_EQ(ids_of("cafe\xCC\x81"), ids_of("caf\xC3\xA9"));                           // e + combining acute
    EXPECT_EQ(ids_of("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"), ids_of("\xED\x95\x9C"));  // Hangul jamo -> syllable
    EXPECT_EQ(ids_of("it\xE2\x80\x99s"), ids_of("it's"));                               // ’
    EXPECT_EQ(ids_of("\xE2\x80\x98quoted\xE2\x80\x99"), ids_of("'quoted'"));            // ‘ ’
    EXPECT_EQ(ids_of("\xE2\x80\x9Cquoted\xE2\x80\x9D"), ids_of("\"quoted\""));          // “ ”
    EXPECT_EQ(ids_of("\xE2\x80\x9E\xE2\x80\x9Fx\xE2\x80\x9A\xE2\x80\x9B"), ids_of("\"\"x''"));  // „ ‟ ‚ ‛
    EXPECT_EQ(ids_of("rock \xCA\xBC n roll"), ids_of("rock ' n roll"));                         // ʼ
    EXPECT_EQ(ids_of("\xEF\xBC\xAC\xEF\xBC\xAF\xEF\xBC\xB5\xEF\xBC\xA4\xE3\x80\x80\xEF\xBC\xAE\xEF\xBC\xAF"),
              ids_of("LOUD NO"));  // ＬＯＵＤ　ＮＯ
    EXPECT_EQ(ids_of("\xEF\xBC\x81\xEF\xBC\x9F\xEF\xBC\x91\xEF\xBC\x92\xEF\xBD\x9E"), ids_of("!?12~"));
    EXPECT_EQ(ids_of("\xEF\xBE\x80\xEF\xBD\xB0\xEF\xBE\x9D"), ids_of("\xE3\x82\xBF\xE3\x83\xBC\xE3\x83\xB3"));  // ﾀｰﾝ
    EXPECT_EQ(ids_of("\xEF\xAC\x81sh \xEF\xAC\x82ow"), ids_of("fish flow"));          // ﬁ ﬂ
    EXPECT_EQ(ids_of("\xC2\x93hi\xC2\x94 \xC2\x85"), ids_of("\"hi\" \xE2\x80\xA6"));  // C1 as Windows-1252
    EXPECT_EQ(ids_of("\x1B[31mred\x1B[0m"), ids_of("red"));                           // terminal colours
    EXPECT_EQ(ids_of("\xEF\xBB\xBF"
                     "a\x01 b\x7F"),
              ids_of("a b"));  // BOM and controls

    EXPECT_EQ(cleaned("Cafe\xCC\x81 \xE2\x80\x9CIt\xE2\x80\x99s\xE2\x80\x9D"), "caf\xC3\xA9 \"it's\"");
    EXPECT_EQ(cleaned("\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3\xE3\x80\x80\xEF\xBC\x84\xEF\xBC\x95"), "abc $5");
    EXPECT_EQ(cleaned("\xC5\x89 \xC7\x84"), "'n d\xC5\xBE");  // ŉ -> ʼn -> 'n ; Ǆ -> DŽ
    EXPECT_EQ(cleaned("line\r\nbreak\xE2\x80\xA8x"), "line break x");
}

TEST(ClipTokenizer, HtmlEntities) {
    EXPECT_EQ(ids_of("&amp;"), ids_of("&"));
    EXPECT_EQ(ids_of("&amp;amp;"), ids_of("&"));
    EXPECT_EQ(ids_of("&amp;amp;amp;amp;"), ids_of("&"));  // ftfy repeats until stable
    EXPECT_EQ(ids_of("&lt;b&gt;bold&lt;/b&gt;"), ids_of("<b>bold</b>"));
    EXPECT_EQ(ids_of("&eacute;t&eacute;"), ids_of("\xC3\xA9t\xC3\xA9"));
    EXPECT_EQ(ids_of("&NTILDE;"), ids_of("\xC3\x91"));              // ftfy's all-caps names
    EXPECT_EQ(ids_of("&Jscr;ohn"), ids_of("\xF0\x9D\x92\xA5ohn"));  // HTML5-only name
    EXPECT_EQ(ids_of("&#39;apos&#39;"), ids_of("'apos'"));
    EXPECT_EQ(ids_of("&#x41;&#X42;&#67"), ids_of("ABC"));
    EXPECT_EQ(ids_of("&#128;"), ids_of("\xE2\x82\xAC"));                 // Windows-1252 remap
    EXPECT_EQ(ids_of("&#0;"), ids_of("\xEF\xBF\xBD"));                   // NUL -> U+FFFD
    EXPECT_EQ(ids_of("x&#xD800;y"), ids_of("x\xEF\xBF\xBDy"));           // surrogate -> U+FFFD
    EXPECT_EQ(ids_of("x&#99999999999;y"), ids_of("x\xEF\xBF\xBDy"));     // beyond Unicode -> U+FFFD
    EXPECT_EQ(ids_of("x&#1;y"), ids_of("xy"));                           // invalid code point -> removed
    EXPECT_EQ(ids_of("AT&T &copy 2024"), ids_of("AT&T \xC2\xA9 2024"));  // legacy name without ';'
    EXPECT_EQ(ids_of("&notit; &ampx"), ids_of("\xC2\xACit; &x"));        // longest legacy prefix
    // Unknown names and bare ampersands stay as written (compared with the cleanup's output, not with itself).
    EXPECT_EQ(cleaned("&bogus; & ;"), "&bogus; & ;");
    EXPECT_EQ(ids_of("&bogus; & ;"), ids_of("&bogus;  &  ;"));  // whitespace collapses, the text does not change

    EXPECT_EQ(cleaned("&amp;amp;amp;amp;"), "&");
    EXPECT_EQ(cleaned("&lt;b&gt; &quot;x&quot; &apos;"), "<b> \"x\" '");
    EXPECT_EQ(cleaned("&NTILDE; &SZLIG; &nTILDE;"), "\xC3\xB1 ss &ntilde;");  // all-caps only in ftfy's list
    EXPECT_EQ(cleaned("&ntildex"), "\xC3\xB1x");                              // legacy name, no ';'
    EXPECT_EQ(cleaned("&#x1F431;&#128049"), "\xF0\x9F\x90\xB1\xF0\x9F\x90\xB1");
    EXPECT_EQ(cleaned("&#150; &#x9F;"), "\xE2\x80\x93 \xC3\xBF");  // Windows-1252 – and Ÿ, lowercased to ÿ
    EXPECT_EQ(cleaned("&#13;a"), "a");                             // CR is whitespace, stripped
    EXPECT_EQ(cleaned("a&#xFFFE;b&#x10FFFF;c"), "abc");            // noncharacters are dropped
    EXPECT_EQ(cleaned("&#; &#x; &# ;"), "&#; &#x; &# ;");
    // A '<' makes ftfy treat the text as HTML and keep its entities; html.unescape still runs twice.
    EXPECT_EQ(cleaned("<i>&amp;amp;amp;</i>"), "<i>&amp;</i>");
    // ...and ftfy's choice holds for the following lines too, not for the ones before.
    EXPECT_EQ(cleaned("&amp;amp;amp;\n<i>\n&amp;amp;amp;"), "& <i> &amp;");
}

TEST(ClipTokenizer, InvalidUtf8IsReplacedNotFatal) {
    const std::string replacement = "\xEF\xBF\xBD";
    EXPECT_EQ(ids_of("a\xFF"
                     "b"),
              ids_of("a" + replacement + "b"));
    EXPECT_EQ(ids_of("a\xC3"), ids_of("a" + replacement));
    EXPECT_EQ(ids_of("\xE2\x82z"), ids_of(replacement + "z"));                           // one U+FFFD
    EXPECT_EQ(ids_of("\xED\xA0\x80"), ids_of(replacement + replacement + replacement));  // surrogate: three
    EXPECT_EQ(ids_of("\xC0\x80"), ids_of(replacement + replacement));                    // overlong: two
    EXPECT_EQ(ids_of("\xF0\x9F\x90"), ids_of(replacement));                              // truncated emoji
    EXPECT_EQ(ids_of(std::string("a\0b", 3)), ids_of("ab"));                             // NUL is a control
    std::string garbage;
    for (int i = 0; i < 4096; ++i)
        garbage.push_back(static_cast<char>((i * 7919) & 0xFF));
    const TokenizedText t = builtin().encode(garbage);
    EXPECT_EQ(t.ids.front(), kStartOfText);
    EXPECT_EQ(t.ids.back(), kEndOfText);
}

TEST(ClipTokenizer, PythonLowercasing) {
    EXPECT_EQ(ids_of("\xC4\xB0stanbul"), ids_of("i\xCC\x87stanbul"));  // İ -> i + combining dot
    // Final sigma: ΟΔΟΣ -> οδος with ς at the end only.
    EXPECT_EQ(ids_of("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3"), ids_of("\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82"));
    EXPECT_EQ(ids_of("\xCE\xA3\xCE\x91"), ids_of("\xCF\x83\xCE\xB1"));
    EXPECT_EQ(ids_of("\xC3\x85NGSTR\xC3\x96M"), ids_of("\xC3\xA5ngstr\xC3\xB6m"));
}

TEST(ClipTokenizer, SpecialTokenStringsAndPreTokenizerQuirks) {
    EXPECT_EQ(ids_of("a <|endoftext|> b"), (std::vector<std::int32_t>{49406, 320, 49407, ids_of("b")[1], 49407}));
    EXPECT_EQ(ids_of("<|startoftext|>"), (std::vector<std::int32_t>{49406, 49406, 49407}));
    EXPECT_EQ(ids_of("<|STARTOFTEXT|>"), ids_of("<|startoftext|>"));  // lowercased first
    // Under the reference's IGNORECASE, "'ſ" is the contraction "'s"; U+0345 matches no alternative.
    EXPECT_NE(ids_of("it'\xC5\xBF"), ids_of("it' \xC5\xBF"));
    EXPECT_EQ(ids_of("a\xCD\x85"
                     "b"),
              ids_of("a b"));
}

TEST(ClipTokenizer, TruncationAndFullLength) {
    std::string long_text;
    for (int i = 0; i < 100; ++i)
        long_text += "cat ";
    const TokenizedText t = builtin().encode(long_text);
    EXPECT_TRUE(t.truncated);
    EXPECT_EQ(t.full_length, 102u);
    ASSERT_EQ(t.ids.size(), 77u);
    EXPECT_EQ(t.ids.front(), kStartOfText);
    EXPECT_EQ(t.ids.back(), kEndOfText);
    EXPECT_EQ(t.ids[75], 2368);

    std::string exact;
    for (int i = 0; i < 75; ++i)
        exact += "cat ";
    const TokenizedText fits = builtin().encode(exact);
    EXPECT_FALSE(fits.truncated);
    EXPECT_EQ(fits.full_length, 77u);
    EXPECT_EQ(fits.ids.size(), 77u);

    const TokenizedText short_context = builtin().encode("a photo of a cat", 4);
    EXPECT_EQ(short_context.ids, (std::vector<std::int32_t>{49406, 320, 1125, 49407}));
    EXPECT_TRUE(short_context.truncated);
    EXPECT_EQ(short_context.full_length, 7u);
    EXPECT_EQ(builtin().encode("a cat", 1).ids, (std::vector<std::int32_t>{49407}));
    EXPECT_TRUE(builtin().encode("a cat", 0).ids.empty());

    const TokenizedText empty = builtin().encode("");
    EXPECT_EQ(empty.ids, (std::vector<std::int32_t>{49406, 49407}));
    EXPECT_FALSE(empty.truncated);
    EXPECT_EQ(empty.full_length, 2u);
}

TEST(ClipTokenizer, DecodeIsTheReferenceInverse) {
    const auto ids = ids_of("a photo of a café!");
    EXPECT_EQ(builtin().decode(ids), "<|startoftext|>a photo of a café ! <|endoftext|>");
    const std::vector<std::int32_t> with_unknown = {320, -5, 1000000, 2368};
    EXPECT_EQ(builtin().decode(with_unknown), "a cat ");
}

TEST(ClipTokenizer, ConcurrentEncodingMatchesSequential) {
    const std::vector<TokenizerCase> cases = load_cases();
    ASSERT_FALSE(cases.empty());
    std::vector<std::vector<std::int32_t>> expected;
    for (const auto& c : cases)
        expected.push_back(builtin().encode(c.text).ids);

    constexpr int kThreads = 6;
    std::vector<std::size_t> mismatches(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 3; ++round) {
                for (std::size_t i = 0; i < cases.size(); ++i) {
                    const std::size_t k = (i + static_cast<std::size_t>(t) * 97) % cases.size();
                    if (builtin().encode(cases[k].text).ids != expected[k]) ++mismatches[static_cast<std::size_t>(t)];
                }
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    for (int t = 0; t < kThreads; ++t)
        EXPECT_EQ(mismatches[static_cast<std::size_t>(t)], 0u) << "thread " << t;
}

TEST(ClipTokenizer, PromptTokenizesWellUnderAMillisecond) {
    const std::string prompt =
        "a photo of a person wearing a bright red uniform carrying a prohibited item through a restricted area "
        "next to an empty shelf in a warehouse at night, seen from a security camera, grainy, low light";
    const TokenizedText once = builtin().encode(prompt);
    EXPECT_GT(once.full_length, 35u);
    constexpr int kRuns = 2000;
    const auto start = std::chrono::steady_clock::now();
    std::size_t total = 0;
    for (int i = 0; i < kRuns; ++i)
        total += builtin().encode(prompt).ids.size();
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / kRuns;
    std::printf("[ timing ] %.1f us per %zu-token prompt\n", us, once.full_length);
    EXPECT_EQ(total, once.ids.size() * kRuns);
#ifdef NDEBUG  // unoptimised and sanitizer builds are many times slower
    EXPECT_LT(us, 1000.0);
#endif
}

}  // namespace
}  // namespace hclip
