# Runs the multi-model serving example: two bundles in one process, 4 threads x 200
# requests; every answer must be bit-identical to the same request served alone.
execute_process(COMMAND ${EXE} --threads 4 --requests 200 OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "multi_model exited with ${rc}")
endif()
string(STRIP "${out}" out)
if(NOT out MATCHES "multi_model: 800/800 answers bit-identical$")
  message(FATAL_ERROR "last line is not 'multi_model: 800/800 answers bit-identical'")
endif()
if(NOT out MATCHES "loaded classifier \\([0-9]+ ops, accuracy 0\\.[78]")
  message(FATAL_ERROR "the classifier bundle is not accurate enough")
endif()
