#include "selftest/selftest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "core/mapped_file.h"
#include "core/timer.h"
#include "engine/embedding.h"
#include "engine/zero_shot.h"
#include "io/sha256.h"
#include "selftest/matching.h"
#include "selftest/text_format.h"

namespace hclip::selftest {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// A check's machine-readable value, as JSON text (CheckResult keeps JSON types out of the public header).
template <typename T>
std::string json_text(const T& value) {
    return Json(value).dump();
}

constexpr double kInf = std::numeric_limits<double>::infinity();

// Normalized embeddings are unit length to float32 rounding (~1e-7); a zero or non-finite raw embedding is not.
constexpr double kUnitNormTolerance = 1e-5;
// The same input alone and inside a batch: different batch sizes may take different GEMM paths, which changes
// float32 rounding by ~1e-7. A backend that is not a function of its input (a mock serving random vectors)
// differs by ~1.
constexpr double kDeterminismTolerance = 1e-4;
// Different pictures (or prompts) with practically the same embedding: a backend returning a constant. Trained
// CLIP models put unrelated photos at cosines of roughly 0.3 to 0.9.
constexpr double kDistinctMaxCosine = 0.9999;

// The pipeline part a published check exercises, for the diagnosis.
enum class Part { kTokenizer, kText, kImage, kScores };

Part part_of(CheckKind kind) {
    switch (kind) {
        case CheckKind::kTokenIds:
            return Part::kTokenizer;
        case CheckKind::kTextEmbeddingSum:
        case CheckKind::kTextEmbeddingValues:
            return Part::kText;
        case CheckKind::kImageEmbeddingSum:
        case CheckKind::kImageEmbeddingValues:
            return Part::kImage;
        default:
            return Part::kScores;
    }
}

class Runner {
  public:
    Runner(const ClipEngine& engine, ImageEncoder& image_encoder, TextEncoder& text_encoder,
           const Expectations& expectations, const SelfTestOptions& options)
        : engine_(engine),
          image_encoder_(image_encoder),
          text_encoder_(text_encoder),
          expectations_(expectations),
          options_(options),
          dim_(static_cast<std::size_t>(engine.embed_dim())) {}

    Result<SelfTestReport> run() {
        Stopwatch clock;
        const ClipModel& model = engine_.model();
        report_.model_dir = model.model_dir();
        report_.weights_path = model.weights_path();
        report_.architecture = model.config().summary();
        report_.image_backend = std::string(image_encoder_.backend_name());
        report_.text_backend = std::string(text_encoder_.backend_name());
        // An emulation of the NPU (a test double) is judged exactly as the NPU would be.
        // The CPU with 16-bit weights (clip.weights) has a reduced-precision profile of its own, "cpu-bf16" or
        // "cpu-fp16", and so has the CPU with bf16 products (clip.compute), "cpu-compute-bf16".
        const WeightStorage storage = model.weight_storage();
        const ComputePrecision compute = model.compute();
        const auto profile_of = [storage, compute](const std::string& backend) {
            if (backend == "hailo-emulated") return std::string("hailo");
            if (backend == "cpu" && compute != ComputePrecision::kF32) {
                return "cpu-compute-" + std::string(compute_precision_name(compute));
            }
            if (backend == "cpu" && storage != WeightStorage::kF32) {
                return "cpu-" + std::string(weight_storage_name(storage));
            }
            return backend;
        };
        if (!options_.tolerance_profile.empty()) {
            report_.tolerance_profile = options_.tolerance_profile;
        } else if (report_.image_backend == report_.text_backend || report_.text_backend == "cpu") {
            report_.tolerance_profile = profile_of(report_.image_backend);  // a mixed setup: by its quantized part
        } else {
            report_.tolerance_profile = profile_of(report_.text_backend);
        }
        if (expectations_.sanity.empty()) return invalid_argument("the expectations have no sanity pictures");

        Identity id;
        HCLIP_ASSIGN_OR_RETURN(id.sha256, sha256_file(model.weights_path()));
        id.names = model_names(model, options_);
        id.signature = architecture_signature(model.config());
        id.layout = std::string(layout_name(model.config().layout));
        report_.weights_sha256 = id.sha256;
        report_.model_names = id.names;
        const Match match = match_entry(expectations_, id);
        entry_ = match.entry;

        if (entry_ != nullptr) {
            profile_ = find_profile(expectations_, entry_, report_.tolerance_profile);
            if (profile_ == nullptr) {
                return not_found("the expectations have no tolerance profile for backend '" +
                                 report_.tolerance_profile + "'");
            }
            report_.has_reference = true;
            report_.reference_id = entry_->id;
            report_.reference_description = entry_->description;
            report_.matched_by = match.how;
            report_.reference_message = "published reference: " + entry_->description + " (entry '" + entry_->id +
                                        "', matched by " + match.how +
                                        (match.how == "sha256" || !entry_->sha256.empty()
                                             ? ""
                                             : "; the entry lists no SHA-256, so the file itself is not identified") +
                                        ")";
        } else {
            report_.reference_message = "no published reference for this model (weights sha256 " + id.sha256 +
                                        ", names " + join(id.names, ", ") + ")";
            for (const auto& h : match.hints)
                report_.reference_message += "; " + h;
            report_.reference_message +=
                ". Only the sanity check ran: it shows the embeddings are well-formed and the model recognises "
                "simple pictures, not that its outputs are right";
        }

        HCLIP_RETURN_IF_ERROR(encode_everything());
        basic_checks();
        if (entry_ != nullptr) {
            if (match.sha_mismatch) weights_identity_check(id.sha256, false);
            if (match.how == "sha256") weights_identity_check(id.sha256, true);
            for (const auto& c : entry_->checks)
                published_check(c);
        } else {
            recognition_checks();
        }
        conclude(match);
        report_.elapsed_ms = clock.elapsed_ms();
        return std::move(report_);
    }

  private:
    // Every picture and prompt once, in one batch per tower.
    Status encode_everything() {
        std::vector<std::string> images;
        std::vector<std::string> texts;
        auto add = [](std::vector<std::string>& list, const std::string& v) {
            if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
        };
        for (const auto& p : expectations_.sanity) {
            add(images, p.image);
            add(texts, p.text);
        }
        if (entry_ != nullptr) {
            for (const auto& c : entry_->checks) {
                for (const auto& i : c.images)
                    add(images, i);
                if (c.kind == CheckKind::kTokenIds) continue;  // tokenized only
                for (const auto& t : c.texts)
                    add(texts, t);
            }
        }
        for (const auto& name : images) {
            HCLIP_ASSIGN_OR_RETURN(fs::path path, find_image(expectations_, name));
            HCLIP_ASSIGN_OR_RETURN(std::string bytes, read_file(path.string()));
            auto prepared =
                engine_.prepare_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
            if (!prepared.ok()) return prepared.status().with_context("self-test picture '" + path.string() + "'");
            image_index_[name] = prepared_.size();
            image_names_.push_back(name);
            prepared_.push_back(std::move(prepared).value());
        }
        for (const auto& t : texts) {
            text_index_[t] = ids_.size();
            text_names_.push_back(t);
            ids_.push_back(engine_.tokenize(t).ids);
        }
        const int dim = engine_.embed_dim();
        HCLIP_ASSIGN_OR_RETURN(image_raw_, embed_images(image_encoder_, prepared_, dim, false));
        HCLIP_ASSIGN_OR_RETURN(text_raw_, embed_texts(text_encoder_, ids_, dim, false));
        image_norm_ = normalized(image_raw_);
        text_norm_ = normalized(text_raw_);
        return {};
    }

    std::vector<float> normalized(std::vector<float> m) const {
        l2_normalize_rows(m, dim_);
        return m;
    }

    std::span<const float> row(const std::vector<float>& m, std::size_t i) const {
        return std::span<const float>(m).subspan(i * dim_, dim_);
    }
    std::span<const float> image_row(const std::vector<float>& m, const std::string& name) const {
        return row(m, image_index_.at(name));
    }
    std::span<const float> text_row(const std::vector<float>& m, const std::string& text) const {
        return row(m, text_index_.at(text));
    }
    double cosine(const std::string& image, const std::string& text) const {
        return static_cast<double>(dot(image_row(image_norm_, image), text_row(text_norm_, text)));
    }

    CheckResult& add(std::string name, std::string group, std::string kind) {
        CheckResult r;
        r.name = std::move(name);
        r.group = std::move(group);
        r.kind = std::move(kind);
        report_.checks.push_back(std::move(r));
        return report_.checks.back();
    }

    // Checks every backend must pass, with or without published outputs.
    void basic_checks() {
        const std::size_t n_images = prepared_.size();
        const std::size_t n_texts = ids_.size();
        {
            CheckResult& r = add("embeddings finite", "basic", "finite");
            std::size_t bad_values = 0, zero_rows = 0;
            std::string first_bad;
            auto scan = [&](const std::vector<float>& m, std::size_t rows, const std::vector<std::string>& names,
                            const char* what) {
                for (std::size_t i = 0; i < rows; ++i) {
                    double sq = 0.0;
                    for (float v : row(m, i)) {
                        if (!std::isfinite(v)) {
                            ++bad_values;
                            if (first_bad.empty()) first_bad = std::string(what) + " " + in_quotes(names[i]);
                        } else {
                            sq += static_cast<double>(v) * static_cast<double>(v);
                        }
                    }
                    if (sq == 0.0) {
                        ++zero_rows;
                        if (first_bad.empty()) first_bad = std::string(what) + " " + in_quotes(names[i]);
                    }
                }
            };
            scan(image_raw_, n_images, image_names_, "picture");
            scan(text_raw_, n_texts, text_names_, "prompt");
            non_finite_ = bad_values > 0;
            const std::size_t total = n_images + n_texts;
            r.expected_json = json_text("finite, non-zero");
            r.expected_text = std::to_string(total) + " embeddings finite and non-zero";
            r.tolerance = "exact";
            if (bad_values == 0 && zero_rows == 0) {
                r.status = CheckStatus::kPass;
                r.got_json = json_text("finite, non-zero");
                r.got_text = "all " + std::to_string(total);
            } else {
                r.status = CheckStatus::kFail;
                r.got_text =
                    std::to_string(bad_values) + " non-finite values, " + std::to_string(zero_rows) + " zero rows";
                r.got_json = json_text(r.got_text);
                r.detail = "first at " + first_bad + ": the weights or the backend produce NaN, infinity or zeros";
            }
        }
        {
            CheckResult& r = add("embeddings unit-norm after normalization", "basic", "unit_norm");
            double worst = 1.0;
            for (const auto* m : {&image_norm_, &text_norm_}) {
                for (std::size_t i = 0; i * dim_ < m->size(); ++i) {
                    double sq = 0.0;
                    for (float v : row(*m, i))
                        sq += static_cast<double>(v) * static_cast<double>(v);
                    const double norm = std::sqrt(sq);
                    if (!(std::fabs(norm - 1.0) <= std::fabs(worst - 1.0))) worst = norm;
                }
            }
            r.expected_json = json_text(1.0);
            r.got_json = json_text(worst);
            r.expected_text = "norm 1";
            r.got_text = "worst norm " + fmt(worst);
            r.tolerance = "±" + fmt(kUnitNormTolerance);
            r.status = std::fabs(worst - 1.0) <= kUnitNormTolerance ? CheckStatus::kPass : CheckStatus::kFail;
            if (r.status == CheckStatus::kFail) r.detail = "an embedding could not be normalized (zero or not finite)";
        }
        deterministic_check();
        distinct_check();
    }

    // The first sanity picture and prompt again, alone: a real encoder gives the same vectors.
    void deterministic_check() {
        CheckResult& r = add("same input, same embedding", "basic", "deterministic");
        r.expected_json = json_text(0.0);
        r.expected_text = "max |diff| 0";
        r.tolerance = "±" + fmt(kDeterminismTolerance);
        const auto& pair = expectations_.sanity.front();
        auto again_image = embed_images(image_encoder_, std::span(&prepared_[image_index_.at(pair.image)], 1),
                                        engine_.embed_dim(), true);
        auto again_text =
            embed_texts(text_encoder_, std::span(&ids_[text_index_.at(pair.text)], 1), engine_.embed_dim(), true);
        if (!again_image.ok() || !again_text.ok()) {
            r.status = CheckStatus::kFail;
            r.got_json = json_text(nullptr);
            r.got_text = "encoder error";
            r.detail = (!again_image.ok() ? again_image.status() : again_text.status()).to_string();
            return;
        }
        auto max_diff = [](std::span<const float> a, std::span<const float> b) {
            double d = 0.0;
            for (std::size_t i = 0; i < a.size(); ++i) {
                const double x = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
                d = std::isnan(x) ? kInf : std::max(d, x);
            }
            return d;
        };
        const double di = max_diff(*again_image, image_row(image_norm_, pair.image));
        const double dt = max_diff(*again_text, text_row(text_norm_, pair.text));
        const double d = std::max(di, dt);
        r.got_json = json_text(d);
        r.got_text = "max |diff| " + fmt(d);
        r.status = d <= kDeterminismTolerance ? CheckStatus::kPass : CheckStatus::kFail;
        if (r.status == CheckStatus::kFail && non_finite_) {
            r.detail = "cannot be judged: the embeddings are not finite";
        } else if (r.status == CheckStatus::kFail) {
            r.detail = std::string(di > dt ? "picture '" + pair.image + "'" : "prompt '" + pair.text + "'") +
                       " encoded again gave a different embedding (max |diff| " + fmt(d) +
                       "): the backend is not a function of its input (a mock, or uninitialised memory)";
        } else {
            r.detail = "re-encoded alone: picture " + in_quotes(pair.image) + " |diff| " + fmt(di) +
                       ", prompt |diff| " + fmt(dt);
        }
    }

    void distinct_check() {
        CheckResult& r = add("different inputs, different embeddings", "basic", "distinct");
        double worst = -1.0;
        std::string worst_pair;
        auto scan = [&](const std::vector<std::string>& names, const std::vector<float>& m,
                        const std::map<std::string, std::size_t>& index) {
            for (std::size_t a = 0; a < names.size(); ++a) {
                for (std::size_t b = a + 1; b < names.size(); ++b) {
                    const double c = static_cast<double>(dot(row(m, index.at(names[a])), row(m, index.at(names[b]))));
                    if (c > worst || std::isnan(c)) {
                        worst = std::isnan(c) ? kInf : c;
                        worst_pair = in_quotes(names[a]) + " and " + in_quotes(names[b]);
                    }
                }
            }
        };
        std::vector<std::string> images, texts;
        for (const auto& p : expectations_.sanity) {
            if (std::find(images.begin(), images.end(), p.image) == images.end()) images.push_back(p.image);
            if (std::find(texts.begin(), texts.end(), p.text) == texts.end()) texts.push_back(p.text);
        }
        scan(images, image_norm_, image_index_);
        scan(texts, text_norm_, text_index_);
        r.expected_json = json_text(kDistinctMaxCosine);
        r.expected_text = "cosine < " + fmt(kDistinctMaxCosine) + " between any two";
        r.got_json = json_text(worst);
        r.got_text = "max cosine " + fmt(worst);
        r.tolerance = "upper bound";
        r.status = worst < kDistinctMaxCosine ? CheckStatus::kPass : CheckStatus::kFail;
        if (r.status == CheckStatus::kFail && non_finite_) {
            r.detail = "cannot be judged: the embeddings are not finite";
            return;
        }
        r.detail = (r.status == CheckStatus::kPass ? "closest: " : "") + worst_pair +
                   (r.status == CheckStatus::kPass
                        ? ""
                        : " have the same embedding (cosine " + fmt(worst) +
                              "): the backend does not depend on its input (a constant mock, or a broken model)");
    }

    // Without published numbers: does each picture rank its own description first among the others?
    void recognition_checks() {
        std::vector<std::string> texts;
        for (const auto& p : expectations_.sanity) {
            if (std::find(texts.begin(), texts.end(), p.text) == texts.end()) texts.push_back(p.text);
        }
        for (const auto& p : expectations_.sanity) {
            CheckResult& r = add("recognises " + p.image, "sanity", "recognition");
            const double own = cosine(p.image, p.text);
            int rank = 1;
            std::string best = p.text;
            double best_cos = own;
            for (const auto& t : texts) {
                if (t == p.text) continue;
                const double c = cosine(p.image, t);
                if (c >= own || std::isnan(c)) ++rank;  // ties count against: a constant model must not pass
                if (c > best_cos) {
                    best_cos = c;
                    best = t;
                }
            }
            r.expected_json = json_text(1);
            r.got_json = json_text(rank);
            r.expected_text = "rank 1 of " + std::to_string(texts.size()) + ": " + in_quotes(p.text);
            r.got_text = "rank " + std::to_string(rank);
            r.tolerance = "exact";
            r.source = "descriptions from OpenAI's notebook 'Interacting with CLIP'";
            r.status = rank == 1 ? CheckStatus::kPass : CheckStatus::kFail;
            if (rank == 1) {
                double runner_up = -kInf;
                for (const auto& t : texts) {
                    if (t != p.text) runner_up = std::max(runner_up, cosine(p.image, t));
                }
                r.detail = "cosine " + fmt(own) + ", next best " + fmt(runner_up);
            } else if (best == p.text) {
                r.detail = "its own description ties with " + std::to_string(rank - 1) + " other(s) at cosine " +
                           fmt(own) + ": no preference at all";
            } else {
                r.detail =
                    "ranked " + in_quotes(best) + " first (cosine " + fmt(best_cos) + " vs own " + fmt(own) + ")";
            }
        }
    }

    void weights_identity_check(const std::string& sha, bool matched) {
        CheckResult& r = add("weights sha256", "published", "sha256");
        r.expected_json = json_text(entry_->sha256);
        r.got_json = json_text(sha);
        r.expected_text = entry_->sha256.size() == 1 ? entry_->sha256.front()
                                                     : "one of " + std::to_string(entry_->sha256.size()) + " digests";
        r.got_text = sha;
        r.tolerance = "exact";
        r.status = matched ? CheckStatus::kPass : CheckStatus::kFail;
        if (!matched) {
            r.detail = "the weights file is not one of the published files of '" + entry_->id +
                       "': it was altered or corrupted, or it is another checkpoint with the same name and "
                       "architecture";
        }
    }

    // Compares flattened values with labels; abs applies to all, top-1 and top probability per group of
    // `group_size` (one image's scores), using `to_probabilities` on each group.
    void compare(CheckResult& r, const std::vector<double>& expected, const std::vector<double>& got,
                 const std::vector<std::string>& labels, std::size_t group_size,
                 const std::vector<std::string>& group_labels,
                 const std::function<std::vector<double>(const std::vector<double>&)>& to_probabilities,
                 const Tolerance& t) {
        std::vector<std::string> failures;
        std::string passed_detail;
        if (t.abs) {
            double worst = 0.0;
            std::size_t at = 0;
            for (std::size_t i = 0; i < expected.size(); ++i) {
                double d = std::fabs(got[i] - expected[i]);
                if (std::isnan(d)) d = kInf;
                if (d > worst || i == 0) {
                    worst = d;
                    at = i;
                }
            }
            if (worst <= *t.abs) {
                passed_detail = "max |diff| " + fmt(worst);
            } else {
                failures.push_back(labels[at] + ": got " + fmt(got[at]) + ", expected " + fmt(expected[at]) +
                                   " (|diff| " + fmt(worst) + " > " + fmt(*t.abs) + ")");
            }
        }
        if ((t.top1 || t.top_probability) && group_size > 0) {
            for (std::size_t g = 0; g * group_size < expected.size(); ++g) {
                const std::vector<double> e(expected.begin() + static_cast<std::ptrdiff_t>(g * group_size),
                                            expected.begin() + static_cast<std::ptrdiff_t>((g + 1) * group_size));
                const std::vector<double> o(got.begin() + static_cast<std::ptrdiff_t>(g * group_size),
                                            got.begin() + static_cast<std::ptrdiff_t>((g + 1) * group_size));
                const std::size_t best = argmax(e);
                const std::string where = group_labels.empty() ? "" : group_labels[g] + ": ";
                if (t.top1 && argmax(o) != best) {
                    failures.push_back(where + "top-1 is " + labels[g * group_size + argmax(o)] + ", published " +
                                       labels[g * group_size + best]);
                }
                if (t.top_probability) {
                    const double pe = to_probabilities(e)[best];
                    const double po = to_probabilities(o)[best];
                    if (!(std::fabs(po - pe) <= *t.top_probability)) {
                        failures.push_back(where + "probability of " + labels[g * group_size + best] + " is " +
                                           fmt(po) + ", published " + fmt(pe) + " (|diff| " + fmt(std::fabs(po - pe)) +
                                           " > " + fmt(*t.top_probability) + ")");
                    }
                }
            }
            if (failures.empty()) passed_detail += std::string(passed_detail.empty() ? "" : "; ") + "same top-1";
        }
        r.status = failures.empty() ? CheckStatus::kPass : CheckStatus::kFail;
        if (failures.size() > 3) {
            const std::size_t more = failures.size() - 3;
            failures.resize(3);
            failures.push_back("and " + std::to_string(more) + " more");
        }
        r.detail = failures.empty() ? passed_detail : join(failures, "; ");
    }

    void published_check(const Check& c) {
        CheckResult& r = add(c.name, "published", std::string(check_kind_name(c.kind)));
        r.source = c.source;
        if (c.kind == CheckKind::kTokenIds) {
            const std::vector<std::int32_t> got = engine_.tokenize(c.texts.front()).ids;
            r.expected_json = json_text(c.expected_ids);
            r.got_json = json_text(got);
            r.expected_text = fmt_ids(c.expected_ids);
            r.got_text = fmt_ids(got);
            r.tolerance = "exact";
            r.status = got == c.expected_ids ? CheckStatus::kPass : CheckStatus::kFail;
            if (r.status == CheckStatus::kFail) {
                std::size_t i = 0;
                while (i < got.size() && i < c.expected_ids.size() && got[i] == c.expected_ids[i])
                    ++i;
                r.detail = "differs at position " + std::to_string(i) +
                           ": the tokenizer or its vocabulary is not "
                           "OpenAI's";
            }
            return;
        }
        const auto tolerance = profile_->find(check_kind_name(c.kind));
        std::vector<double> got;
        std::vector<std::string> labels;
        std::vector<std::string> group_labels;
        std::size_t group_size = 0;
        std::function<std::vector<double>(const std::vector<double>&)> to_probabilities =
            [](const std::vector<double>& v) { return v; };
        const double scale = entry_->logit_scale;
        switch (c.kind) {
            case CheckKind::kProbabilities:
            case CheckKind::kLogits: {
                std::vector<float> cos;
                for (const auto& t : c.texts) {
                    cos.push_back(static_cast<float>(cosine(c.images.front(), t)));
                    labels.push_back(in_quotes(t));
                }
                if (c.kind == CheckKind::kProbabilities) {
                    for (float p : scaled_softmax(cos, static_cast<float>(scale)))
                        got.push_back(static_cast<double>(p));
                } else {
                    for (float x : cos)
                        got.push_back(scale * static_cast<double>(x));
                    to_probabilities = softmax;
                }
                group_size = c.texts.size();
                break;
            }
            case CheckKind::kImageEmbeddingSum:
            case CheckKind::kTextEmbeddingSum: {
                const bool image = c.kind == CheckKind::kImageEmbeddingSum;
                const auto v = image ? image_row(image_raw_, c.images.front()) : text_row(text_raw_, c.texts.front());
                double sum = 0.0;
                for (float x : v)
                    sum += static_cast<double>(x);
                got.push_back(sum);
                labels.push_back("sum");
                break;
            }
            case CheckKind::kImageEmbeddingValues:
            case CheckKind::kTextEmbeddingValues: {
                const bool image = c.kind == CheckKind::kImageEmbeddingValues;
                const auto v = image ? image_row(image_raw_, c.images.front()) : text_row(text_raw_, c.texts.front());
                for (std::size_t i = 0; i < c.expected.size(); ++i) {
                    const std::size_t at = static_cast<std::size_t>(c.offset) + i;
                    got.push_back(at < v.size() ? static_cast<double>(v[at])
                                                : std::numeric_limits<double>::quiet_NaN());
                    labels.push_back("value " + std::to_string(at));
                }
                break;
            }
            case CheckKind::kSimilarity: {
                // Stored row by row (texts); compared per image (column) for top-1, so transpose both.
                std::vector<double> expected_by_image;
                for (std::size_t i = 0; i < c.images.size(); ++i) {
                    group_labels.push_back("image " + in_quotes(c.images[i]));
                    for (std::size_t t = 0; t < c.texts.size(); ++t) {
                        expected_by_image.push_back(c.expected[t * c.images.size() + i]);
                        got.push_back(cosine(c.images[i], c.texts[t]));
                        labels.push_back(in_quotes(c.texts[t]) + " x " + in_quotes(c.images[i]));
                    }
                }
                group_size = c.texts.size();
                to_probabilities = [scale](const std::vector<double>& v) {
                    std::vector<double> s(v);
                    for (double& x : s)
                        x *= scale;
                    return softmax(s);
                };
                // Labels of top-1 failures should name the text only.
                std::vector<std::string> text_labels;
                for (std::size_t i = 0; i < c.images.size(); ++i) {
                    for (const auto& t : c.texts)
                        text_labels.push_back(in_quotes(t));
                }
                similarity_result(r, c, expected_by_image, got, labels, text_labels, group_labels, to_probabilities,
                                  tolerance == profile_->end() ? nullptr : &tolerance->second);
                return;
            }
            case CheckKind::kTokenIds:
                break;
        }
        r.expected_json =
            json_text(c.expected.size() == 1 && group_size == 0 ? Json(c.expected.front()) : Json(c.expected));
        r.got_json = json_text(got.size() == 1 && group_size == 0 ? Json(got.front()) : Json(got));
        r.expected_text = c.expected.size() == 1 && group_size == 0 ? fmt(c.expected.front()) : fmt_list(c.expected);
        r.got_text = got.size() == 1 && group_size == 0 ? fmt(got.front()) : fmt_list(got);
        if (tolerance == profile_->end()) {
            skip(r);
            return;
        }
        r.tolerance = tolerance_text(tolerance->second);
        compare(r, c.expected, got, labels, group_size, group_labels, to_probabilities, tolerance->second);
    }

    void similarity_result(CheckResult& r, const Check& c, const std::vector<double>& expected_by_image,
                           const std::vector<double>& got_by_image, const std::vector<std::string>& cell_labels,
                           const std::vector<std::string>& text_labels, const std::vector<std::string>& group_labels,
                           const std::function<std::vector<double>(const std::vector<double>&)>& to_probabilities,
                           const Tolerance* tolerance) {
        const std::size_t ni = c.images.size(), nt = c.texts.size();
        Json expected_rows = Json::array(), got_rows = Json::array();
        std::vector<double> diag_e, diag_g;
        for (std::size_t t = 0; t < nt; ++t) {
            Json er = Json::array(), gr = Json::array();
            for (std::size_t i = 0; i < ni; ++i) {
                er.push_back(expected_by_image[i * nt + t]);
                gr.push_back(got_by_image[i * nt + t]);
                if (i == t && ni == nt) {  // square: picture i's own description is text i
                    diag_e.push_back(expected_by_image[i * nt + t]);
                    diag_g.push_back(got_by_image[i * nt + t]);
                }
            }
            expected_rows.push_back(er);
            got_rows.push_back(gr);
        }
        r.expected_json = json_text(expected_rows);
        r.got_json = json_text(got_rows);
        const std::string shape = std::to_string(nt) + "x" + std::to_string(ni) + " cosines";
        r.expected_text = shape + (diag_e.empty() ? "" : ", diagonal " + fmt_list(diag_e));
        r.got_text = shape + (diag_g.empty() ? "" : ", diagonal " + fmt_list(diag_g));
        if (tolerance == nullptr) {
            skip(r);
            return;
        }
        r.tolerance = tolerance_text(*tolerance);
        // abs failures name the cell; top-1 failures name the texts.
        if (tolerance->abs) {
            Tolerance abs_only;
            abs_only.abs = tolerance->abs;
            compare(r, expected_by_image, got_by_image, cell_labels, 0, {}, to_probabilities, abs_only);
        }
        if (tolerance->top1 || tolerance->top_probability) {
            CheckResult ranking;
            Tolerance rank_only = *tolerance;
            rank_only.abs.reset();
            compare(ranking, expected_by_image, got_by_image, text_labels, nt, group_labels, to_probabilities,
                    rank_only);
            const bool abs_failed = tolerance->abs && r.status == CheckStatus::kFail;
            if (!tolerance->abs) {
                r.status = ranking.status;
                r.detail = ranking.detail;
            } else if (ranking.status == CheckStatus::kFail) {
                r.status = CheckStatus::kFail;
                r.detail = abs_failed ? r.detail + "; " + ranking.detail : ranking.detail;
            } else if (!abs_failed) {
                r.detail += "; " + ranking.detail;
            }
        }
    }

    void skip(CheckResult& r) {
        r.status = CheckStatus::kSkip;
        r.tolerance = "-";
        r.detail = "not compared on backend '" + report_.tolerance_profile + "': its tolerance profile has no " +
                   r.kind + " entry (values of a quantized encoder are not comparable)";
    }

    void conclude(const Match& match) {
        std::vector<std::string> failed_basic;
        bool tokenizer = false, text = false, image = false, scores = false;
        bool text_compared = false, image_compared = false;
        int failed_published = 0, compared_published = 0, failed_sanity = 0, total_sanity = 0;
        std::vector<std::string> failed_names;
        for (const auto& r : report_.checks) {
            const bool fail = r.status == CheckStatus::kFail;
            if (r.group == "basic" && fail) failed_basic.push_back(r.name);
            if (r.group == "sanity") {
                ++total_sanity;
                failed_sanity += fail ? 1 : 0;
            }
            if (r.group != "published" || r.status == CheckStatus::kSkip) continue;
            ++compared_published;
            if (!fail) {
                if (r.kind != "sha256") {
                    const Part part = part_of(*parse_check_kind(r.kind));
                    text_compared = text_compared || part == Part::kText;
                    image_compared = image_compared || part == Part::kImage;
                }
                continue;
            }
            ++failed_published;
            failed_names.push_back(r.name);
            if (r.kind == "sha256") continue;
            const Part part = part_of(*parse_check_kind(r.kind));
            tokenizer = tokenizer || part == Part::kTokenizer;
            text = text || part == Part::kText;
            image = image || part == Part::kImage;
            scores = scores || part == Part::kScores;
        }

        std::vector<std::string> diagnosis;
        for (const auto& r : report_.checks) {
            if (r.group == "basic" && r.status == CheckStatus::kFail) diagnosis.push_back(r.name + ": " + r.detail);
        }
        if (match.sha_mismatch) diagnosis.push_back("the weights file is not a published one (its SHA-256 differs)");
        if (tokenizer) diagnosis.push_back("token ids differ: the tokenizer or its vocabulary is not OpenAI's");
        if (image && !text) {
            diagnosis.push_back(std::string(text_compared ? "text embeddings match but " : "") +
                                "image embeddings differ: the image path is wrong (resize, crop, mean/std, the image "
                                "tower or its projection)");
        } else if (text && !image) {
            diagnosis.push_back(std::string(image_compared ? "image embeddings match but " : "") +
                                "text embeddings differ: the text path is wrong (the text tower, its projection, or "
                                "the vocabulary)");
        } else if (text && image) {
            diagnosis.push_back(
                "image and text embeddings both differ: wrong or altered weights, a wrong checkpoint layout or "
                "transposed projections, or a broken backend");
        } else if (scores) {
            diagnosis.push_back(text_compared && image_compared
                                    ? "embeddings match but the scores do not: scoring differs (normalization or "
                                      "logit scale)"
                                    : "the scores differ from the published ones");
        }
        report_.diagnosis = join(diagnosis, "; ");

        const int compared = static_cast<int>(report_.checks.size()) - report_.count(CheckStatus::kSkip);
        const int failed = report_.count(CheckStatus::kFail);
        if (report_.has_reference) {
            const int skipped = report_.count(CheckStatus::kSkip);
            const std::string not_compared =
                skipped > 0 ? ", " + std::to_string(skipped) + " not compared on this backend" : "";
            if (failed == 0 && compared_published > 0) {
                report_.passed = report_.verified = true;
                report_.verdict = "PASS: all " + std::to_string(compared_published) +
                                  " published checks agree with the outputs published for " +
                                  report_.reference_description + " (tolerances: " + report_.tolerance_profile + ")" +
                                  not_compared;
            } else if (failed == 0) {
                report_.verdict = "FAIL: nothing was compared on backend '" + report_.tolerance_profile + "'";
            } else if (failed_published == 0) {
                report_.verdict = "FAIL: the " + std::to_string(compared_published) +
                                  " published checks agree, but basic checks failed: " + join(failed_basic, ", ");
            } else {
                std::vector<std::string> shown(failed_names.begin(),
                                               failed_names.begin() + std::min<std::ptrdiff_t>(4, failed_published));
                if (failed_published > 4) shown.push_back("...");
                report_.verdict = "FAIL: " + std::to_string(failed_published) + " of " +
                                  std::to_string(compared_published) +
                                  " published checks disagree with the outputs published for " +
                                  report_.reference_description + " (failed: " + join(shown, "; ") + ")" +
                                  (failed_basic.empty() ? "" : "; basic checks failed: " + join(failed_basic, ", "));
            }
            return;
        }
        if (options_.require_reference) {
            report_.verdict =
                "FAIL (sanity only): no published reference for this model, so only sanity checks could run, and "
                "one is required (--require-reference)";
            return;
        }
        const std::string prefix =
            "no published reference for this model, so its outputs were not compared with "
            "published numbers; ";
        if (!failed_basic.empty()) {
            report_.verdict = "FAIL (sanity only): " + prefix + "its embeddings are not well-formed (" +
                              join(failed_basic, ", ") + ")";
        } else if (failed_sanity > 0) {
            report_.verdict =
                "FAIL (sanity only): " + prefix + "its embeddings are well-formed, but only " +
                std::to_string(total_sanity - failed_sanity) + " of " + std::to_string(total_sanity) +
                " reference pictures ranked their own description first (a trained CLIP ranks all of them first; "
                "random or untrained weights cannot)";
            if (report_.diagnosis.empty()) {
                report_.diagnosis =
                    "the model does not recognise simple pictures: untrained or random weights, or "
                    "a broken model";
            }
        } else {
            report_.passed = compared > 0;
            report_.verdict = "PASS (sanity only): " + prefix + "its embeddings are well-formed and all " +
                              std::to_string(total_sanity) + " reference pictures rank their own description first";
        }
    }

    const ClipEngine& engine_;
    ImageEncoder& image_encoder_;
    TextEncoder& text_encoder_;
    const Expectations& expectations_;
    const SelfTestOptions& options_;
    const std::size_t dim_;

    SelfTestReport report_;
    const ModelEntry* entry_ = nullptr;
    const ToleranceProfile* profile_ = nullptr;
    bool non_finite_ = false;
    std::vector<PreparedImage> prepared_;
    std::vector<std::vector<std::int32_t>> ids_;
    std::map<std::string, std::size_t> image_index_, text_index_;
    std::vector<std::string> image_names_, text_names_;
    std::vector<float> image_raw_, image_norm_, text_raw_, text_norm_;
};

}  // namespace

Result<SelfTestReport> run_selftest(const ClipEngine& engine, ImageEncoder& image_encoder, TextEncoder& text_encoder,
                                    const Expectations& expectations, const SelfTestOptions& options) {
    return Runner(engine, image_encoder, text_encoder, expectations, options).run();
}

}  // namespace hclip::selftest
