// Batches (several pictures or texts in one request), classification against prompt sets, and the label
// embeddings of prompt sets. Every picture and every uncached text of a request goes through the towers in one
// inference, so a batch costs one image pass and one text pass on a worker.
#include <cstdio>
#include <unordered_map>

#include "core/timer.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "server/clip_service.h"
#include "server/log.h"

namespace hclip::server {

namespace {

// Texts of one request: cached embeddings are copied at once; each distinct uncached text is tokenized into the
// inference input once and copied back (and cached) after inference.
struct TextPlan {
    std::vector<float> embeddings;                          // texts x dim, in request order
    std::unordered_map<std::string, std::size_t> pending;   // text -> index in InferenceInput::texts
    std::vector<std::pair<std::size_t, std::size_t>> fill;  // (text index, InferenceInput::texts index)
};

// `name(i)` names text i in warnings ("prompt 3", "input[2]"). `tokens`, when given, adds up the token ids.
template <typename Namer>
TextPlan plan_texts(const ClipEngine& engine, TextEmbeddingCache* cache, const std::vector<std::string>& texts,
                    InferenceInput& input, std::vector<std::string>& warnings, std::size_t* tokens, Namer name) {
    const auto d = static_cast<std::size_t>(engine.embed_dim());
    TextPlan plan;
    plan.embeddings.resize(texts.size() * d);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        // Tokenizing is microseconds; doing it even for cached texts keeps warnings and token counts truthful.
        TokenizedText t = engine.tokenize(texts[i]);
        if (tokens != nullptr) *tokens += t.ids.size();
        if (t.truncated) {
            warnings.push_back(name(i) + " has " + std::to_string(t.full_length) + " tokens and was truncated to " +
                               std::to_string(t.ids.size()));
        }
        if (cache != nullptr && cache->lookup(texts[i], std::span<float>(plan.embeddings).subspan(i * d, d))) continue;
        auto [it, inserted] = plan.pending.emplace(texts[i], input.texts.size());
        if (inserted) input.texts.push_back(std::move(t.ids));
        plan.fill.emplace_back(i, it->second);
    }
    return plan;
}

void finish_texts(TextPlan& plan, const std::vector<float>& text_out, std::size_t d, TextEmbeddingCache* cache) {
    for (const auto& [text_index, input_index] : plan.fill) {
        std::copy_n(text_out.begin() + static_cast<std::ptrdiff_t>(input_index * d), d,
                    plan.embeddings.begin() + static_cast<std::ptrdiff_t>(text_index * d));
    }
    if (cache == nullptr) return;
    for (const auto& [text, input_index] : plan.pending)
        cache->insert(text, std::span<const float>(text_out).subspan(input_index * d, d));
}

Status check_count(std::size_t count, const std::string& field, int limit) {
    if (count == 0) return invalid_argument("'" + field + "' must contain at least one item");
    if (count > static_cast<std::size_t>(limit)) {
        return resource_exhausted("'" + field + "' has " + std::to_string(count) + " items; the limit is " +
                                  std::to_string(limit) + " (limits.max_batch_items)");
    }
    return {};
}

}  // namespace

Status ClipService::open_prompt_sets() {
    PromptSetLimits limits;
    limits.max_prompts = static_cast<std::size_t>(config_.limits.max_prompts);
    limits.max_text_bytes = config_.limits.max_prompt_bytes;
    std::vector<PromptSet> configured;
    for (const auto& c : config_.prompt_sets)
        configured.push_back({c.name, c.prompts, c.templates});
    HCLIP_ASSIGN_OR_RETURN(
        prompt_sets_, PromptSetStore::open(config_.storage.state_dir + "/prompt-sets", std::move(configured), limits));
    log_info("prompt sets: " + std::to_string(prompt_sets_->names().size()) + " (stored in " +
             prompt_sets_->directory() + ")");
    return {};
}

Result<std::shared_ptr<const std::vector<float>>> ClipService::prompt_set_embeddings(const PromptSetStore::Entry& entry,
                                                                                     Clock::time_point deadline) {
    if (entry.label_embeddings) return entry.label_embeddings;
    // Computed once per set version; two requests racing here both compute, and either result is the same.
    InferenceInput input;
    std::vector<std::string> warnings;
    const std::vector<std::string> texts = prompt_set_texts(entry.set);
    TextPlan plan = plan_texts(*engine_, nullptr, texts, input, warnings, nullptr,
                               [](std::size_t i) { return "text " + std::to_string(i + 1); });
    for (const auto& w : warnings)
        log_warning("prompt set '" + entry.set.name + "': " + w);
    HCLIP_ASSIGN_OR_RETURN(InferenceOutput out, infer(std::move(input), deadline));
    const auto d = static_cast<std::size_t>(engine_->embed_dim());
    finish_texts(plan, out.text_embeddings, d, nullptr);
    auto labels = std::make_shared<const std::vector<float>>(ensemble_label_embeddings(entry.set, plan.embeddings, d));
    prompt_sets_->cache_embeddings(entry.set.name, entry.generation, labels);
    return labels;
}

Result<std::vector<ClassifyResult>> ClipService::classify_prepared(std::vector<PreparedImage> images,
                                                                   const ClassifyBatchRequest& request,
                                                                   double prepare_ms, Clock::time_point deadline) {
    const auto d = static_cast<std::size_t>(engine_->embed_dim());
    const std::size_t image_count = images.size();
    const std::string source = image_count == 1
                                   ? images[0].source.format + " " + std::to_string(images[0].source.width) + "x" +
                                         std::to_string(images[0].source.height) + " image"
                                   : std::to_string(image_count) + " images";
    InferenceInput input;
    input.images = std::move(images);
    std::vector<std::string> warnings;
    const std::vector<std::string>* labels = &request.prompts;
    std::shared_ptr<const PromptSetStore::Entry> entry;
    std::shared_ptr<const std::vector<float>> set_embeddings;
    TextPlan plan;
    if (!request.prompt_set.empty()) {
        entry = prompt_sets_->get(request.prompt_set);
        if (!entry) return not_found("no prompt set named '" + request.prompt_set + "'");
        HCLIP_ASSIGN_OR_RETURN(set_embeddings, prompt_set_embeddings(*entry, deadline));
        labels = &entry->set.prompts;
    } else {
        plan = plan_texts(*engine_, cache_.get(), request.prompts, input, warnings, nullptr,
                          [](std::size_t i) { return "prompt " + std::to_string(i + 1); });
    }
    const std::size_t encoded = input.texts.size();
    Stopwatch clock;
    HCLIP_ASSIGN_OR_RETURN(InferenceOutput out, infer(std::move(input), deadline));
    if (debug_logging()) {
        char line[200];
        std::snprintf(line, sizeof line,
                      "classify: %s, decode+resize %.1f ms, %zu prompts (%zu encoded), queue+inference %.1f ms",
                      source.c_str(), prepare_ms, labels->size(), encoded, clock.elapsed_ms());
        log_debug(line);
    }
    if (!set_embeddings) finish_texts(plan, out.text_embeddings, d, cache_.get());
    const std::vector<float>& label_embeddings = set_embeddings ? *set_embeddings : plan.embeddings;

    const int top_k = std::min<int>(request.top_k, static_cast<int>(labels->size()));
    std::vector<ClassifyResult> results(image_count);
    for (std::size_t i = 0; i < image_count; ++i) {
        const auto cosines = cosine_similarities(std::span<const float>(out.image_embeddings).subspan(i * d, d),
                                                 label_embeddings, engine_->embed_dim());
        for (const RankedLabel& r : rank_labels(cosines, static_cast<float>(config_.clip.logit_scale), top_k,
                                                static_cast<float>(request.threshold))) {
            results[i].classifications.push_back(
                {(*labels)[static_cast<std::size_t>(r.index)], r.score, r.similarity, r.rank});
        }
        results[i].warnings = warnings;
    }
    return results;
}

Result<std::vector<ClassifyResult>> ClipService::classify_batch(const ClassifyBatchRequest& request,
                                                                Clock::time_point deadline) {
    HCLIP_RETURN_IF_ERROR(check_count(request.images.size(), "images", config_.limits.max_batch_items));
    HCLIP_RETURN_IF_ERROR(check_classify_labels(request));
    Stopwatch clock;
    std::vector<PreparedImage> prepared;
    prepared.reserve(request.images.size());
    for (std::size_t i = 0; i < request.images.size(); ++i) {
        auto image = engine_->prepare_image(request.images[i]);
        if (!image.ok()) return image.status().with_context("images[" + std::to_string(i) + "]");
        prepared.push_back(std::move(image).value());
    }
    return classify_prepared(std::move(prepared), request, clock.elapsed_ms(), deadline);
}

Status ClipService::check_classify_labels(const ClassifyBatchRequest& request) const {
    if (!request.prompt_set.empty()) {
        if (!request.prompts.empty()) return invalid_argument("send 'prompts' or 'prompt_set', not both");
        if (!prompt_sets_->get(request.prompt_set)) {
            return not_found("no prompt set named '" + request.prompt_set + "'");
        }
    } else {
        if (request.prompts.empty()) return invalid_argument("'prompts' must contain at least one prompt");
        if (request.prompts.size() > static_cast<std::size_t>(config_.limits.max_prompts)) {
            return resource_exhausted("'prompts' has " + std::to_string(request.prompts.size()) +
                                      " prompts; the limit is " + std::to_string(config_.limits.max_prompts));
        }
        for (std::size_t i = 0; i < request.prompts.size(); ++i) {
            HCLIP_RETURN_IF_ERROR(check_text(request.prompts[i], ("prompt " + std::to_string(i + 1)).c_str()));
        }
    }
    if (request.top_k < 1) return invalid_argument("'top_k' must be at least 1");
    if (!(request.threshold >= 0.0 && request.threshold <= 1.0)) {
        return invalid_argument("'threshold' must be between 0 and 1");
    }
    return {};
}

Result<BatchEmbedResult> ClipService::embed_batch(const std::vector<EmbedInput>& inputs, const std::string& item_name,
                                                  Clock::time_point deadline) {
    HCLIP_RETURN_IF_ERROR(check_count(inputs.size(), item_name, config_.limits.max_batch_items));
    const auto d = static_cast<std::size_t>(engine_->embed_dim());
    const auto item = [&item_name](std::size_t i) { return item_name + "[" + std::to_string(i) + "]"; };
    InferenceInput input;
    std::vector<std::size_t> image_items, text_items;
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].is_image) {
            auto image = engine_->prepare_image(inputs[i].image);
            if (!image.ok()) return image.status().with_context(item(i));
            input.images.push_back(std::move(image).value());
            image_items.push_back(i);
        } else {
            HCLIP_RETURN_IF_ERROR(check_text(inputs[i].text, item(i).c_str()));
            texts.push_back(inputs[i].text);
            text_items.push_back(i);
        }
    }
    BatchEmbedResult result;
    result.dimension = engine_->embed_dim();
    TextPlan plan = plan_texts(*engine_, cache_.get(), texts, input, result.warnings, &result.prompt_tokens,
                               [&](std::size_t t) { return item(text_items[t]); });
    if (!input.images.empty() || !input.texts.empty()) {
        HCLIP_ASSIGN_OR_RETURN(InferenceOutput out, infer(std::move(input), deadline));
        finish_texts(plan, out.text_embeddings, d, cache_.get());
        result.embeddings.resize(inputs.size() * d);
        for (std::size_t k = 0; k < image_items.size(); ++k) {
            std::copy_n(out.image_embeddings.begin() + static_cast<std::ptrdiff_t>(k * d), d,
                        result.embeddings.begin() + static_cast<std::ptrdiff_t>(image_items[k] * d));
        }
    } else {
        result.embeddings.resize(inputs.size() * d);  // every text was cached
    }
    for (std::size_t t = 0; t < text_items.size(); ++t) {
        std::copy_n(plan.embeddings.begin() + static_cast<std::ptrdiff_t>(t * d), d,
                    result.embeddings.begin() + static_cast<std::ptrdiff_t>(text_items[t] * d));
    }
    return result;
}

}  // namespace hclip::server
