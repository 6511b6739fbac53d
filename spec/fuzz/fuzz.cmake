# libFuzzer targets (spec/fuzz/): included by CMakeLists.txt when TRK_FUZZ is ON. Needs clang:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DTRK_FUZZ=ON
# The libraries the targets reach (trkbind_obj, trkrt, the shim trk_lazyjson) are built with -fsanitize=fuzzer-no-link
# plus ASan and UBSan; the targets with -fsanitize=fuzzer.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang" OR NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "TRK_FUZZ needs clang (libFuzzer): configure with CC=clang CXX=clang++")
endif()

set(TRK_FUZZ_SANITIZE -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)
set(TRK_FUZZ_TARGETS client emulator csv)

foreach(lib trkbind_obj trkrt trk_lazyjson)
  target_compile_options(${lib} PRIVATE ${TRK_FUZZ_SANITIZE} -fsanitize=fuzzer-no-link -O1)
endforeach()
target_compile_definitions(trkrt PUBLIC TRK_FUZZ)    # the emulator's socket-free entry point

# `make fuzz-build` builds the target `fuzzers` only. The rest of the build still links (with
# the sanitizers' runtimes) when it is asked for.
set(TRK_FUZZ_OTHERS trk tracker trk_lazyjson)
foreach(src ${TRK_CTESTS})
  get_filename_component(name ${src} NAME_WE)
  list(APPEND TRK_FUZZ_OTHERS ${name})
endforeach()
foreach(t ${TRK_FUZZ_OTHERS})
  target_link_options(${t} PRIVATE -fsanitize=address,undefined)
endforeach()

# The targets' C helpers; their Lua drivers (spec/fuzz/drivers/) are read from the source tree.
set(TRK_FUZZ_DIR ${PROJECT_SOURCE_DIR}/spec/fuzz)
add_library(trkfuzz STATIC ${TRK_FUZZ_DIR}/fuzz_lua.c)
target_include_directories(trkfuzz PUBLIC ${TRK_FUZZ_DIR})
target_compile_definitions(trkfuzz PRIVATE TRK_FUZZ_DRIVERS="${TRK_FUZZ_DIR}/drivers")
target_compile_options(trkfuzz PRIVATE ${TRK_FUZZ_SANITIZE} -O1)
target_link_libraries(trkfuzz PUBLIC trkrt)

add_custom_target(fuzzers)                           # what `make fuzz-build` builds
foreach(t ${TRK_FUZZ_TARGETS})
  add_executable(fuzz_${t} ${TRK_FUZZ_DIR}/fuzz_${t}.c)
  target_compile_options(fuzz_${t} PRIVATE ${TRK_FUZZ_SANITIZE} -fsanitize=fuzzer -O1)
  target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_${t} PRIVATE trkfuzz)
  add_dependencies(fuzzers fuzz_${t})
endforeach()
