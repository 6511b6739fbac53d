# The test suite, run by ctest: C tests from spec/c/, and every busted spec, one test a file.

set(TRK_SPEC_ENV
  "TRK=$<TARGET_FILE:trk>"
  "TRK_ROOT=${PROJECT_SOURCE_DIR}"
  "TRK_BUILD=$<TARGET_FILE_DIR:tracker>")   # .busted puts it on the C module path
if(TRK_SANITIZE)
  # busted runs on the distribution's lua5.4, which is not instrumented: preload the runtime
  # for tracker.so, and check leaks only in trk itself (spec/support/trk.lua sets that).
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE TRK_LIBASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND TRK_SPEC_ENV "LD_PRELOAD=${TRK_LIBASAN}" "TRK_SANITIZE=1"
       "ASAN_OPTIONS=detect_leaks=0" "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
endif()

find_program(LUA54 lua5.4 REQUIRED)
find_program(BUSTED busted REQUIRED)

file(GLOB TRK_SPECS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/spec/*_spec.lua)
file(GLOB_RECURSE TRK_EXAMPLE_SPECS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/examples/*_spec.lua)
list(APPEND TRK_SPECS ${TRK_EXAMPLE_SPECS})
foreach(spec ${TRK_SPECS})
  get_filename_component(name ${spec} NAME_WE)
  if(spec MATCHES "/examples/")
    set(name "example_${name}")
  endif()
  add_test(NAME ${name} COMMAND ${LUA54} ${BUSTED} --output=utfTerminal ${spec}
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${TRK_SPEC_ENV}" TIMEOUT 600)
endforeach()

# make soak runs these at full size (TRK_SOAK=1): minutes each
set_tests_properties(soak_spec journal_spec PROPERTIES TIMEOUT 1800)

# C tests: each spec/c/test_NAME.c is a program that exits 0 when all is well.
file(GLOB TRK_CTESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/spec/c/test_*.c)
foreach(src ${TRK_CTESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE trkrt PkgConfig::SQLITE)   # some read the store directly
  string(REPLACE "test_" "c_" tname ${name})
  add_test(NAME ${tname} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(TRK_SANITIZE)
    set_tests_properties(${tname} PROPERTIES ENVIRONMENT
      "ASAN_OPTIONS=detect_leaks=1;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
  endif()
endforeach()

# The red team's cases (shared/redteam, beside the checkout, as CI lays it): every trk run and
# trk rules case must be contained, in the plain and the sanitizer build. Skipped, with a note,
# where the folder is not there (a clone on its own).
set(TRK_REDTEAM ${PROJECT_SOURCE_DIR}/../shared/redteam)
if(EXISTS ${TRK_REDTEAM}/run.sh)
  add_test(NAME redteam_run COMMAND bash ${TRK_REDTEAM}/run.sh $<TARGET_FILE:trk>)
  add_test(NAME redteam_rules COMMAND bash ${TRK_REDTEAM}/rules/run.sh $<TARGET_FILE:trk>)
  set_tests_properties(redteam_run redteam_rules PROPERTIES TIMEOUT 900)
  if(TRK_SANITIZE)
    set_tests_properties(redteam_run redteam_rules PROPERTIES ENVIRONMENT
      "ASAN_OPTIONS=detect_leaks=1;LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/spec/support/lsan.supp:print_suppressions=0;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
  endif()
else()
  message(STATUS "no ${TRK_REDTEAM}: the red-team cases are not part of this test run")
endif()
