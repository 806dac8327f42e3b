// simdjson's parse of request bodies (server/http/fast_json.h) against nlohmann::json's, the parser it stands in
// for: every document simdjson accepts must come out as the same value with the same number types, and every body
// must be accepted or refused by parse_json_object exactly as nlohmann alone would.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "server/http/fast_json.h"
#include "server/http/json_api.h"
#include "support/json_identical.h"

namespace hclip::server {
namespace {

using Json = nlohmann::json;

using hclip::testing::json_identical;

Json reference(const std::string& text) {
    return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

const std::vector<std::string> kAccepted = {
    R"({})",
    R"({"image": "data:image/png;base64,iVBORw0KGgo=", "prompts": ["a cat", "a dog"], "top_k": 2})",
    R"({"a": 0, "c": -1, "d": 1.5, "e": 1e2, "f": 2.5E-3, "g": -1.25e+10, "h": -10, "i": 0.5})",
    R"({"max_i64": 9223372036854775807, "min_i64": -9223372036854775808, "max_u64": 18446744073709551615})",
    R"({"esc": "\"\\\/\b\f\n\r\t", "u": "\u00e9\u4e2d\ud83d\ude00", "nul": "a\u0000b", "raw": "é中😀"})",
    R"({"dup": 1, "dup": "second", "dup": [3]})",
    R"({"t": true, "f": false, "n": null, "nested": {"x": [1, [2, [3, {"y": []}]]]}})",
    " \t\r\n{\"spaced\" : [ 1 , 2 ] }\n ",
    R"({"tiny": 1.5e-400, "small": 4.9e-324, "big": 1.7976931348623157e308})",
};

TEST(FastJson, AcceptsWhatNlohmannAcceptsAsTheSameValueAndTypes) {
    for (const auto& text : kAccepted) {
        SCOPED_TRACE(text);
        const auto fast = parse_with_simdjson(text);
        ASSERT_TRUE(fast.has_value());
        const Json ref = reference(text);
        ASSERT_FALSE(ref.is_discarded());
        EXPECT_TRUE(json_identical(*fast, ref)) << fast->dump() << " vs " << ref.dump();
    }
    // The types the endpoints branch on (json_api.cpp: top_k unsigned, signed or neither).
    const auto numbers = parse_with_simdjson(kAccepted[2]);
    ASSERT_TRUE(numbers.has_value());
    EXPECT_TRUE((*numbers)["a"].is_number_unsigned());
    EXPECT_TRUE((*numbers)["c"].is_number_integer() && !(*numbers)["c"].is_number_unsigned());
    EXPECT_TRUE((*numbers)["e"].is_number_float());
    EXPECT_EQ((*parse_with_simdjson(kAccepted[5]))["dup"], Json::array({3}));  // the last of a repeated key
}

TEST(FastJson, LeavesToNlohmannWhatSimdjsonRefusesAndTheVerdictIsNlohmanns) {
    const std::vector<std::string> refused_by_simdjson = {
        "\xEF\xBB\xBF{\"bom\": 1}",                     // nlohmann skips a byte-order mark
        R"({"huge": 123456789012345678901234567890})",  // nlohmann: a double
        R"({"below": -9223372036854775809})",           // nlohmann: a double
        R"({"inf": 1e400})",                            // nlohmann refuses
        R"({"a": 1,})",
        R"({"a": 01})",
        R"({"a": NaN})",
        "{\"a\": 1} x",
        "{\"ctl\": \"a\x01\"}",
        R"({"lone": "\ud800"})",
        R"({"negative zero": -0})",
        R"({"also in a string": "-0"})",
        "{\"bad utf8\": \"\xC3\x28\"}",
        "",
        "   ",
        "{",
        std::string(2000, '[') + std::string(2000, ']'),  // deeper than simdjson's 1024 levels
    };
    for (const auto& text : refused_by_simdjson) {
        SCOPED_TRACE(text.substr(0, 60));
        EXPECT_FALSE(parse_with_simdjson(text).has_value());
        const Json ref = reference(text);
        const auto parsed = parse_json_object(text);
        EXPECT_EQ(parsed.ok(), !ref.is_discarded() && ref.is_object());
        if (parsed.ok()) {
            EXPECT_TRUE(json_identical(*parsed, ref));
        }
    }
    EXPECT_DOUBLE_EQ((*parse_json_object(refused_by_simdjson[1]))["huge"].get<double>(), 1.2345678901234568e29);
}

TEST(FastJson, ABodyOfAMegabyteOfBase64ComesThroughWhole) {
    std::string payload(1 << 20, 'A');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 7 + i / 64) % 64];
    const std::string body = R"({"image": "data:image/jpeg;base64,)" + payload + R"(", "prompts": ["x"]})";
    const auto parsed = parse_json_object(body);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ((*parsed)["image"].get<std::string>(), "data:image/jpeg;base64," + payload);
}

// Bodies near valid ones (bytes flipped, inserted, deleted, cut short): whatever simdjson accepts, nlohmann
// accepts as the identical value.
TEST(FastJson, MutatedBodiesNeverParseDifferently) {
    std::mt19937 rng(20261128);
    const std::string alphabet = "{}[]\",:0123456789-+.eEtrufalsn \\u\t\n\x01\x7f\xC3\xA9\xFF";
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string text = kAccepted[rng() % kAccepted.size()];
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits && !text.empty(); ++e) {
            const std::size_t at = rng() % text.size();
            const char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 4) {
                case 0:
                    text[at] = c;
                    break;
                case 1:
                    text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
                    break;
                case 2:
                    text.erase(at, 1);
                    break;
                default:
                    text.resize(at);
                    break;
            }
        }
        const auto fast = parse_with_simdjson(text);
        if (!fast) continue;
        ++accepted;
        const Json ref = reference(text);
        ASSERT_FALSE(ref.is_discarded()) << text;
        ASSERT_TRUE(json_identical(*fast, ref)) << text << "\n" << fast->dump() << " vs " << ref.dump();
    }
    EXPECT_GT(accepted, 1000);  // the comparison ran on many accepted bodies, not only on refusals
}

}  // namespace
}  // namespace hclip::server
