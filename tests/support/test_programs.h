// Where the programs the tests start are. Their paths are written into a small source generated in each build folder
// (tests/CMakeLists.txt) rather than passed as macros, so the test sources themselves compile to the same objects
// in every build folder and the test builds can share them (ccache).
#pragma once

namespace hclip::testing {

const char* cli_path();                 // hailo-clip
const char* test_cli_path();            // hailo-clip-test: hailo-clip with the test doubles (tests/doubles/)
const char* make_stand_in_hefs_path();  // make_stand_in_hefs

}  // namespace hclip::testing
