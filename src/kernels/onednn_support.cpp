#include "kernels/onednn_support.h"

#include <omp.h>

#include <algorithm>
#include <new>
#include <string_view>

namespace hclip::onednn {

dnnl::engine& cpu_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

void keep_single_threaded() {
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
}

bool is_reference_impl(const dnnl::primitive_desc_base& pd) {
    return std::string_view(pd.impl_info_str()).starts_with("ref");
}

AlignedBuffer aligned_buffer(std::size_t bytes) {
    return AlignedBuffer(::operator new (std::max<std::size_t>(bytes, 64), std::align_val_t{64}));
}

void* Scratchpad::of_size(std::size_t bytes) {
    if (bytes > bytes_ || !data_) {
        data_ = aligned_buffer(bytes);
        bytes_ = bytes;
    }
    return data_.get();
}

}  // namespace hclip::onednn
