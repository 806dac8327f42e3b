// The GEMM kernel part of `hailo-clip bench`: the choice the model was loaded with, and every candidate kernel
// timed again per weight shape and row bucket, as GFLOP/s and % of the run's GEMM peak.
#pragma once

#include "model/clip_model.h"

namespace hclip::cli {

// Prints the load-time choice (the start-up log lines), then the table. Returns the highest GFLOP/s it measured,
// so the caller's peak can include it.
double print_gemm_kernel_table(const ClipModel& model, double peak);

}  // namespace hclip::cli
