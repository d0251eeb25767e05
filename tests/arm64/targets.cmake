# Cross-ISA helpers for scripts/test-arm64.sh, built in build-arm64 and in the x86 reference
# build build-arm64-host (see project_include.cmake); not part of the default build.
if(TARGET quantd_llm)
  # stories260K's logits and greedy ids on the dispatched ISA, dumped for comparison.
  add_executable(isa_logits "${CMAKE_CURRENT_LIST_DIR}/isa_logits.cc")
  target_include_directories(isa_logits PRIVATE "${PROJECT_SOURCE_DIR}")
  target_link_libraries(isa_logits PRIVATE quantd_llm)
endif()
# qemu's own memory: the footprint baseline.
add_executable(qemu_baseline "${CMAKE_CURRENT_LIST_DIR}/qemu_baseline.c")
