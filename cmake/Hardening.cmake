# Build variants that harden the code rather than ship it (issue #6):
#   -DHSSJW_SANITIZE=ON  ASan + UBSan on everything (the whole test suite
#                        runs under them in CI; see scripts/test.sh)
#   -DHSSJW_FUZZ=ON      clang only: libFuzzer targets (tests/fuzz) instead
#                        of the test suite; see scripts/fuzz.sh
option(HSSJW_SANITIZE "Build everything with AddressSanitizer and UBSan" OFF)
option(HSSJW_FUZZ "Build the libFuzzer targets (clang) instead of the tests" OFF)

if(HSSJW_SANITIZE OR HSSJW_FUZZ)
  # Any UB is a failure, not a message scrolling past in a passing test.
  set(HSSJW_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
  add_compile_options(${HSSJW_SANITIZER_FLAGS})
  add_link_options(${HSSJW_SANITIZER_FLAGS})
endif()

if(HSSJW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "HSSJW_FUZZ needs clang (CXX=clang++-14)")
  endif()
  # Coverage for libFuzzer in every object; the fuzzers link its main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
