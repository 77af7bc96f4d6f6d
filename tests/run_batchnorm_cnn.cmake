# The batch-normalization CNN for 100 training steps (moving averages with momentum 0.9, so
# that they forget their initial values within the run): accuracy, and that the train op
# moved the moving statistics.
include(${CMAKE_CURRENT_LIST_DIR}/example_check.cmake)
run_example(--steps 100 --epochs 1 --bn-momentum 0.9)
check_test_accuracy(0.70)
string(REGEX MATCH "moving variance 1\\.0000 -> ([0-9.]+)" moved "${example_output}")
if(NOT moved OR CMAKE_MATCH_1 STREQUAL "1.0000")
  message(FATAL_ERROR "the moving variance did not move during training")
endif()
