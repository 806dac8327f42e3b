// The prompt-set store on its own: validation, ensembling, persistence, and PUT/DELETE from many threads (run
// under ThreadSanitizer by scripts/test.sh).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/zero_shot.h"
#include "server/http/openai_embeddings.h"
#include "server/prompt_sets/prompt_set_store.h"

namespace hclip::server {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() /
        ("hclip-prompt-sets-" + name + "-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
         std::to_string(static_cast<long>(::getpid())));
    fs::remove_all(dir);
    return dir;
}

PromptSet make_set(std::string name, std::vector<std::string> prompts, std::vector<std::string> templates = {}) {
    return {std::move(name), std::move(prompts), std::move(templates)};
}

TEST(PromptSet, NamesAreLowercaseDigitsDashUnderscore) {
    for (const char* ok : {"a", "shelves", "a-b_c9", "0"})
        EXPECT_TRUE(is_valid_prompt_set_name(ok)) << ok;
    for (const char* bad : {"", "A", "a b", "a/b", "..", "a.json", "é"})
        EXPECT_FALSE(is_valid_prompt_set_name(bad)) << bad;
    EXPECT_TRUE(is_valid_prompt_set_name(std::string(64, 'x')));
    EXPECT_FALSE(is_valid_prompt_set_name(std::string(65, 'x')));
}

TEST(PromptSet, TemplatesAreFilledLabelMajor) {
    const auto texts = prompt_set_texts(make_set("s", {"cat", "dog"}, {"a {}.", "{} and {}"}));
    EXPECT_EQ(texts, (std::vector<std::string>{"a cat.", "cat and cat", "a dog.", "dog and dog"}));
}

TEST(PromptSet, EnsembleIsTheRenormalizedMean) {
    // Two labels, two templates, dim 2: label 0's templates are orthogonal unit vectors, so the mean is the diagonal.
    const std::vector<float> rows = {1, 0, 0, 1, 0.6f, 0.8f, 0.6f, 0.8f};
    const auto labels = ensemble_label_embeddings(make_set("s", {"a", "b"}, {"{} 1", "{} 2"}), rows, 2);
    ASSERT_EQ(labels.size(), 4u);
    EXPECT_NEAR(labels[0], std::sqrt(0.5f), 1e-7);
    EXPECT_NEAR(labels[1], std::sqrt(0.5f), 1e-7);
    EXPECT_NEAR(labels[2], 0.6f, 1e-7);
    EXPECT_NEAR(labels[3], 0.8f, 1e-7);
}

TEST(PromptSetStore, PersistsAtomicallyAndReloads) {
    const fs::path dir = fresh_dir("reload");
    {
        auto store = PromptSetStore::open(dir.string(), {}, {});
        ASSERT_TRUE(store.ok()) << store.status().to_string();
        EXPECT_FALSE(fs::exists(dir));  // created on the first PUT, not before
        ASSERT_EQ((*store)->put(make_set("a", {"x", "y"}, {"a {}"})).value(), PromptSetStore::PutOutcome::kCreated);
        ASSERT_EQ((*store)->put(make_set("a", {"z"})).value(), PromptSetStore::PutOutcome::kReplaced);
        ASSERT_TRUE((*store)->put(make_set("b", {"q"})).ok());
        ASSERT_TRUE((*store)->remove("b").ok());
        EXPECT_EQ((*store)->remove("b").code(), StatusCode::kNotFound);
    }
    // A leftover of an interrupted write is removed at the next open, and never read as a set.
    std::ofstream(dir / ".a.json.tmp-1-0") << "{\"prom";
    auto store = PromptSetStore::open(dir.string(), {}, {});
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    EXPECT_EQ((*store)->names(), std::vector<std::string>{"a"});
    EXPECT_EQ((*store)->get("a")->set.prompts, std::vector<std::string>{"z"});
    EXPECT_FALSE(fs::exists(dir / ".a.json.tmp-1-0"));
    fs::remove_all(dir);
}

TEST(PromptSetStore, ABrokenStoredFileStopsTheOpenNamingIt) {
    const fs::path dir = fresh_dir("broken");
    fs::create_directories(dir);
    std::ofstream(dir / "a.json") << "{\"prompts\": [\"x\"";
    auto store = PromptSetStore::open(dir.string(), {}, {});
    ASSERT_FALSE(store.ok());
    EXPECT_NE(store.status().message().find("a.json"), std::string::npos) << store.status().message();
    fs::remove_all(dir);
}

TEST(PromptSetStore, ConfiguredSetsAreReadOnlyAndValidated) {
    const fs::path dir = fresh_dir("configured");
    auto store = PromptSetStore::open(dir.string(), {make_set("c", {"x"})}, {});
    ASSERT_TRUE(store.ok());
    EXPECT_TRUE((*store)->is_configured("c"));
    EXPECT_FALSE((*store)->put(make_set("c", {"y"})).ok());
    EXPECT_FALSE((*store)->remove("c").ok());
    auto bad = PromptSetStore::open(dir.string(), {make_set("c", {"x"}, {"no hole"})}, {});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("prompt_sets.c"), std::string::npos);
    fs::remove_all(dir);
}

TEST(PromptSetStore, CachedEmbeddingsNeverLandOnANewerSet) {
    auto store = PromptSetStore::open(fresh_dir("cache").string(), {}, {}).value();
    ASSERT_TRUE(store->put(make_set("a", {"x"})).ok());
    const auto first = store->get("a");
    ASSERT_TRUE(store->put(make_set("a", {"y"})).ok());
    store->cache_embeddings("a", first->generation, std::make_shared<const std::vector<float>>(4, 1.0f));
    EXPECT_EQ(store->get("a")->label_embeddings, nullptr);
    store->cache_embeddings("a", store->get("a")->generation, std::make_shared<const std::vector<float>>(4, 1.0f));
    EXPECT_NE(store->get("a")->label_embeddings, nullptr);
    fs::remove_all(store->directory());
}

TEST(PromptSetStore, ConcurrentPutDeleteGetKeepFilesAndMapInStep) {
    const fs::path dir = fresh_dir("concurrent");
    auto store = PromptSetStore::open(dir.string(), {}, {}).value();
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 40; ++i) {
                const std::string name = "s" + std::to_string(i % 5);
                if ((i + t) % 3 == 0) {
                    const Status s = store->remove(name);
                    if (!s.ok() && s.code() != StatusCode::kNotFound) failed = true;
                } else if (!store->put(make_set(name, {"t" + std::to_string(t), "i" + std::to_string(i)})).ok()) {
                    failed = true;
                }
                if (auto e = store->get(name); e && e->set.prompts.size() != 2) failed = true;
                store->names();
            }
        });
    }
    for (auto& th : threads)
        th.join();
    EXPECT_FALSE(failed.load());
    // What is on disk is exactly what the store serves.
    auto reopened = PromptSetStore::open(dir.string(), {}, {}).value();
    EXPECT_EQ(reopened->names(), store->names());
    for (const auto& name : store->names())
        EXPECT_EQ(reopened->get(name)->set.prompts, store->get(name)->set.prompts);
    fs::remove_all(dir);
}

TEST(OpenAiEmbeddings, Base64IsLittleEndianFloat32) {
    // 1.0f is 0x3f800000: bytes 00 00 80 3f.
    EXPECT_EQ(float32_le_base64(std::vector<float>{1.0f}), "AACAPw==");
    EXPECT_EQ(float32_le_base64(std::vector<float>{1.0f, -2.0f}), "AACAPwAAAMA=");
}

}  // namespace
}  // namespace hclip::server
