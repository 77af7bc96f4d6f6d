# Runs the multi-model serving example: two bundles in one process, 4 threads x 200
# requests; every answer must be bit-identical to the same request served alone.
include(${CMAKE_CURRENT_LIST_DIR}/example_check.cmake)
run_example(--threads 4 --requests 200)
set(out "${example_output}")
if(NOT out MATCHES "multi_model: 800/800 answers bit-identical$")
  message(FATAL_ERROR "last line is not 'multi_model: 800/800 answers bit-identical'")
endif()
if(NOT out MATCHES "loaded classifier \\([0-9]+ ops, accuracy 0\\.[78]")
  message(FATAL_ERROR "the classifier bundle is not accurate enough")
endif()
