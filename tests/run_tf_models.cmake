# Runs the TensorFlow tour on ../shared/interop (when present; otherwise the example says
# so and exits 0): the documented results must appear.
include(${CMAKE_CURRENT_LIST_DIR}/example_check.cmake)
set(dir "${SRC}/../shared/interop")
if(NOT IS_DIRECTORY "${dir}")
  set(dir "${SRC}/../../shared/interop")
endif()
run_example(--dir ${dir})
set(out "${example_output}")
if(out MATCHES "no TensorFlow artifacts")
  message("tf_models: artifacts absent, skipped")
  return()
endif()
foreach(expect "pred = \\[1.26349, 1.47745, 1.69141\\]" "serving_default\\(\\[1, 2, 5\\]\\) -> \\[2.5, 3, 4.5\\]"
               "serving_default\\(\\[2\\]\\) -> \\[4\\]" "-> \\[2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5\\]"
               "tf_models: 9 models ran")
  if(NOT out MATCHES "${expect}")
    message(FATAL_ERROR "tf_models output lacks '${expect}'")
  endif()
endforeach()
