# examples/mnist_distributed under mpirun -np 2, briefly (one epoch on 12000 images): both
# ranks report their throughput, rank 0 the test accuracy.
execute_process(
  COMMAND ${MPIRUN} ${EXE} --epochs 1 --limit 12000 --batch 32
  TIMEOUT 150 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}\n${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mnist_distributed failed (exit status ${rc})")
endif()
foreach(r 0 1)
  if(NOT out MATCHES "rank ${r} epoch 1: 187 steps in [0-9.]+ s, [0-9.]+ ms/step, [0-9]+ images/s on this rank")
    message(FATAL_ERROR "rank ${r} did not report its throughput")
  endif()
endforeach()
if(NOT out MATCHES "test accuracy: 0\\.([6-9])")
  message(FATAL_ERROR "rank 0's test accuracy is missing or below 0.6")
endif()
