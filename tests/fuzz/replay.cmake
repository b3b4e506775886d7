# Fuzzer inputs replayed without libFuzzer, in every ordinary build (gcc, and
# the ASan+UBSan build of `make sanitize-test`): one <target>_replay binary per
# tests/fuzz/*_fuzzer.cc (tests/fuzz/replay_main.cc), run by ctest over the
# target's regression inputs (tests/fuzz/regressions/<target>/, every crash a
# fuzzer ever found) and its seed corpus. Included from tests/CMakeLists.txt.
file(GLOB FCGI_FUZZ_TARGET_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*_fuzzer.cc)
set(FCGI_FUZZ_REPLAY_TARGETS)
foreach(src ${FCGI_FUZZ_TARGET_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name}_replay ${CMAKE_CURRENT_LIST_DIR}/replay_main.cc ${src})
  target_link_libraries(${name}_replay PRIVATE fcgi_core)
  add_test(NAME "fuzz-replay: ${name} regression inputs and seed corpus"
           COMMAND ${name}_replay ${CMAKE_CURRENT_LIST_DIR}/regressions/${name}
                   ${CMAKE_CURRENT_LIST_DIR}/corpus/${name})
  set_tests_properties("fuzz-replay: ${name} regression inputs and seed corpus"
                       PROPERTIES TIMEOUT 120 LABELS fuzz)
  list(APPEND FCGI_FUZZ_REPLAY_TARGETS ${name}_replay)
endforeach()
add_custom_target(fuzz_replay DEPENDS ${FCGI_FUZZ_REPLAY_TARGETS})
