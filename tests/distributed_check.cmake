# One failure scenario of distributed/ (tests/distributed_scenarios.cc) under mpirun -np 2:
#   cmake -DMPIRUN="mpirun;..." -DEXE=<distributed_scenarios> -DMODE=exit|throw|names|shapes -P this
# Checks the lines both ranks print, the exit status and the time to the error, against the
# timeouts set here (SLUICE_MPI_TIMEOUT, SLUICE_MISMATCH_SECONDS). orte_abort_on_non_zero_status
# 0: mpirun would otherwise kill the survivor itself as soon as a rank exits non-zero; here
# the survivor must notice and report on its own.
set(timeout 4)
set(mismatch 1)
string(TIMESTAMP t0 "%s")
execute_process(
  COMMAND ${MPIRUN} --mca orte_abort_on_non_zero_status 0 -x SLUICE_MPI_TIMEOUT=${timeout} -x SLUICE_MISMATCH_SECONDS=${mismatch}
          ${EXE} ${MODE}
  TIMEOUT 60 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(TIMESTAMP t1 "%s")
math(EXPR wall "${t1} - ${t0}")
message("--- mpirun (exit status ${rc}, ${wall} s):\n${out}\n--- stderr:\n${err}")
# (With orte_abort_on_non_zero_status 0, mpirun's own status does not carry the ranks'.)
if(NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "mpirun did not end by itself: ${rc}")
endif()
if(out MATCHES "rank [0-9]: finished")
  message(FATAL_ERROR "a rank finished normally: it must have failed")
endif()
if(wall GREATER 40)
  message(FATAL_ERROR "the job took ${wall} s: it must end soon after the failure")
endif()

# "rank R: error after S s: <code>: <message>" for rank R; checks S <= limit.
function(expect_error rank code pattern limit)
  if(NOT out MATCHES "rank ${rank}: error after ([0-9.]+) s: ${code}: ([^\n]*)")
    message(FATAL_ERROR "rank ${rank} did not report a ${code} error")
  endif()
  set(secs ${CMAKE_MATCH_1})
  set(msg "${CMAKE_MATCH_2}")
  if(NOT msg MATCHES "${pattern}")
    message(FATAL_ERROR "rank ${rank}'s error does not match '${pattern}': ${msg}")
  endif()
  string(REGEX REPLACE "\\..*" "" whole "${secs}")
  if(whole GREATER_EQUAL ${limit})
    message(FATAL_ERROR "rank ${rank} reported after ${secs} s, the limit is ${limit} s")
  endif()
  message("rank ${rank}: ${code} after ${secs} s (limit ${limit} s)")
endfunction()

if(MODE STREQUAL "exit")
  if(NOT out MATCHES "rank 1: leaving at step 5")
    message(FATAL_ERROR "rank 1 did not reach its exit")
  endif()
  # The timeout plus a cycle and the time of one step.
  math(EXPR limit "${timeout} + 2")
  expect_error(0 "FailedPrecondition" "rank 1 sent nothing for" ${limit})
elseif(MODE STREQUAL "throw")
  expect_error(0 "FailedPrecondition" "rank 1 called distributed::shutdown\\(\\) or ended its program" 2)
elseif(MODE STREQUAL "names")
  math(EXPR limit "${mismatch} + 2")
  foreach(r 0 1)
    expect_error(${r} "InvalidArgument"
                 "graphs disagree: collective 'grad_[ab]' \\(allreduce\\(average\\) float32\\[4\\]\\) was submitted by rank [01] but never by rank [01]; rank [01] waits for 'grad_[ab]'"
                 ${limit})
  endforeach()
elseif(MODE STREQUAL "shapes")
  foreach(r 0 1)
    expect_error(${r} "InvalidArgument"
                 "disagree about collective 'grad_a': rank 0 submitted allreduce\\(average\\) float32\\[4\\], rank 1 submitted allreduce\\(average\\) float32\\[5\\]"
                 2)
  endforeach()
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
