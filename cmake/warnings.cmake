# Warnings are applied through an interface target so third-party code is never affected.
add_library(hclip_warnings INTERFACE)
target_compile_options(hclip_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(HCLIP_FATAL_WARNINGS)
    target_compile_options(hclip_warnings INTERFACE -Werror)
endif()
