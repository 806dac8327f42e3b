// Safetensors reader: 8-byte little-endian header length, a JSON header, then raw tensor data.
// The file is memory-mapped; tensors are views into the mapping. Every offset and size in the header is
// checked against the file before any tensor is exposed, so a malformed file gives a Status, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/status.h"

namespace hclip {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

struct TensorView {
    std::string name;
    DType dtype = DType::kF32;
    std::vector<std::int64_t> shape;
    std::span<const std::uint8_t> data;

    std::int64_t numel() const;
    std::string shape_string() const;  // "[192, 3, 32, 32]"
};

class SafetensorsFile {
  public:
    // Maps and validates the file at `path`.
    static Result<SafetensorsFile> open(const std::string& path);
    // Validates `bytes` (not owned: they must outlive the result). Used by tests and fuzzing.
    static Result<SafetensorsFile> parse(std::span<const std::uint8_t> bytes, std::string source_name = "<memory>");

    // MappedFile::map_in_small_pages for an opened file; nothing for parsed bytes.
    void map_in_small_pages() const;

    const TensorView* find(std::string_view name) const;
    const std::vector<TensorView>& tensors() const { return tensors_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const std::string& source_name() const { return source_name_; }

    // Tensor converted to float32 (F32, F16, BF16, F64 and integer types are accepted).
    Result<std::vector<float>> read_f32(std::string_view name) const;
    // Tensor as int64 (integer types only).
    Result<std::vector<std::int64_t>> read_i64(std::string_view name) const;

  private:
    std::shared_ptr<MappedFile> file_;  // null when parsed from caller-owned bytes
    std::vector<TensorView> tensors_;
    std::map<std::string, std::string> metadata_;
    std::string source_name_;
};

// Converts any floating or integer tensor to float32 into `out` (size must equal numel).
Status convert_to_f32(const TensorView& tensor, std::span<float> out);

// Serialises tensors (F32 data) to the safetensors format. Used by tools that write models and by tests.
struct TensorToWrite {
    std::string name;
    std::vector<std::int64_t> shape;
    std::span<const float> data;
};
Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace hclip
