# Included by scripts/test-arm64.sh through -DCMAKE_PROJECT_quantd_INCLUDE=<this file>, so the
# shared CMakeLists stay untouched: once the top-level CMakeLists.txt has defined every library
# target, targets.cmake adds the cross-ISA helpers of tests/arm64.
set(QUANTD_ARM64_TARGETS "${CMAKE_CURRENT_LIST_DIR}/targets.cmake")
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL include "${QUANTD_ARM64_TARGETS}")
