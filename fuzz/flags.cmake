# Compile flags of a fuzz build (NIXSNAP_BUILD_FUZZ=ON): every library the fuzz targets
# link is instrumented for libFuzzer's coverage and checked by ASan and UBSan. Included
# by the top-level CMakeLists.txt before src/, so the libraries get the flags too.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "NIXSNAP_BUILD_FUZZ needs clang (libFuzzer), e.g. "
                      "-DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14; see docs/fuzzing.md")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
