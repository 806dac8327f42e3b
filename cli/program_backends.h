// The backends of the hailo-clip program. Defined once for the installed program (program_backends.cpp: the
// built-in backends) and once for the test program (tests/doubles/: the same plus test doubles), so one main()
// serves both and the installed binary holds no double.
#pragma once

namespace hclip::cli {

void register_program_backends();

}  // namespace hclip::cli
