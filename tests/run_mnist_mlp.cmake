# The MLP example for one epoch: last-line format and accuracy.
include(${CMAKE_CURRENT_LIST_DIR}/example_check.cmake)
run_example(--epochs 1)
check_test_accuracy(0.80)
