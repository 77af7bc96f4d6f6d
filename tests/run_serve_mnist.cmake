# examples/serve_mnist.sh end to end: train and export the MLP (1 epoch), serve it with
# `sluice serve` on loopback, send 20 test images with curl, and require the served classes
# to equal the in-process ones.
get_filename_component(build_dir ${EXE} DIRECTORY)
get_filename_component(build_dir ${build_dir} DIRECTORY)
execute_process(COMMAND ${SRC}/examples/serve_mnist.sh ${build_dir}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "serve_mnist.sh exited with ${rc}")
endif()
string(STRIP "${out}" out)
if(NOT out MATCHES "served classes equal in-process classes: 20/20$")
  message(FATAL_ERROR "the served classes differ from the in-process ones")
endif()
