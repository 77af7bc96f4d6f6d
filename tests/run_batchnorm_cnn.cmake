# Runs the batch-normalization CNN example for 100 training steps (moving averages with
# momentum 0.9, so that they forget their initial values within the run) and checks its last
# line, its accuracy, and that the train op moved the moving statistics.
execute_process(COMMAND ${EXE} --steps 100 --epochs 1 --bn-momentum 0.9
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "batchnorm_cnn exited with ${rc}")
endif()
string(STRIP "${out}" out)
string(REGEX MATCH "test accuracy: (0\\.[0-9][0-9][0-9][0-9])$" last "${out}")
if(NOT last)
  message(FATAL_ERROR "last line is not 'test accuracy: 0.XXXX'")
endif()
if(CMAKE_MATCH_1 LESS 0.70)
  message(FATAL_ERROR "100 steps reached only ${CMAKE_MATCH_1}")
endif()
string(REGEX MATCH "moving variance 1\\.0000 -> ([0-9.]+)" moved "${out}")
if(NOT moved OR CMAKE_MATCH_1 STREQUAL "1.0000")
  message(FATAL_ERROR "the moving variance did not move during training")
endif()
