# `cmake --install` puts `sluice` in <prefix>/bin, and it runs from there (finding libsluice
# through its RPATH) for someone who installed the project. BUILD=<build dir>, TMP=<scratch>.
file(REMOVE_RECURSE ${TMP})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${TMP}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
execute_process(COMMAND ${TMP}/prefix/bin/sluice version RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^sluice [0-9]")
  message(FATAL_ERROR "installed sluice did not run (${rc}): ${out}${err}")
endif()
# The help lists every subcommand.
execute_process(COMMAND ${TMP}/prefix/bin/sluice --help OUTPUT_VARIABLE help)
foreach(sub inspect run convert graph summary plot)
  if(NOT help MATCHES "${sub}")
    message(FATAL_ERROR "sluice --help does not list '${sub}':\n${help}")
  endif()
endforeach()
file(REMOVE_RECURSE ${TMP})
message(STATUS "installed sluice runs: ${out}")
