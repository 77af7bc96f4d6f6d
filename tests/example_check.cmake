# Shared by the tests/run_<example>.cmake scripts (each gets -DEXE=<example binary>).
# run_example(<args>...): runs EXE, prints its output, fails on a non-zero exit, and leaves
# the (stripped) output in `example_output`.
function(run_example)
  execute_process(COMMAND ${EXE} ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  message("${out}${err}")
  get_filename_component(name ${EXE} NAME)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} exited with ${rc}")
  endif()
  string(STRIP "${out}" out)
  set(example_output "${out}" PARENT_SCOPE)
endfunction()

# check_test_accuracy(<min>): the last line is exactly "test accuracy: 0.XXXX", at least <min>.
function(check_test_accuracy min)
  string(REGEX MATCH "test accuracy: (0\\.[0-9][0-9][0-9][0-9])$" last "${example_output}")
  if(NOT last)
    message(FATAL_ERROR "last line is not 'test accuracy: 0.XXXX'")
  endif()
  if(CMAKE_MATCH_1 LESS ${min})
    message(FATAL_ERROR "test accuracy ${CMAKE_MATCH_1} is below ${min}")
  endif()
endfunction()
