// The compute pool's hand-off in `hailo-clip bench`: how fast a pool thread joins a short loop, the way a tower
// pass starts one per matrix product (about 90 for a ViT-B/32 image), so a slow hand-off shows as a figure.
#pragma once

namespace hclip::cli {

// Runs short two-part loops back to back on the compute pool and prints how often the second part ran on another
// thread and how long after the loop started. Prints nothing when the pool has one thread.
void print_pool_handoff();

}  // namespace hclip::cli
