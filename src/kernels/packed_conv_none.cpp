// Builds without a convolution library (everything but x86-64 with oneDNN): conv2d_nhwc runs every convolution.
#include <cstdio>
#include <cstdlib>

#include "kernels/packed_conv.h"

namespace hclip {

struct PackedConv::Impl {};

PackedConv::PackedConv(const PackedConvSpec& spec, std::size_t bytes, std::string implementation,
                       std::unique_ptr<Impl> impl)
    : spec_(spec), bytes_(bytes), implementation_(std::move(implementation)), impl_(std::move(impl)) {}

PackedConv::~PackedConv() = default;

Result<std::unique_ptr<const PackedConv>> PackedConv::create(const float*, const float*, const PackedConvSpec&) {
    return unsupported("this build has no direct convolution (configured without oneDNN)");
}

void PackedConv::run(const void*, void*, ConvInput) const {
    // Unreachable: no PackedConv can exist in this build.
    std::fputs("hailo-clip: PackedConv::run called in a build without direct convolutions\n", stderr);
    std::abort();
}

int PackedConv::tasks() const {
    return 0;
}

bool PackedConv::split_by_channels() const {
    return false;
}

bool packed_conv_available() {
    return false;
}

}  // namespace hclip
