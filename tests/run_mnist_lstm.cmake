# The LSTM example for 150 training steps.
include(${CMAKE_CURRENT_LIST_DIR}/example_check.cmake)
run_example(--steps 150)
check_test_accuracy(0.65)
