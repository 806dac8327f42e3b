# HCLIP_FUZZ=ON: every target is compiled for libFuzzer coverage with AddressSanitizer + UndefinedBehaviorSanitizer,
# and tests/fuzz adds one fuzzer per parser. Needs clang (GCC has no libFuzzer).
option(HCLIP_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)
if(HCLIP_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "HCLIP_FUZZ=ON needs clang: cmake -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
    endif()
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                        -fno-sanitize-recover=all)
    add_link_options(-fsanitize=address,undefined)
endif()
