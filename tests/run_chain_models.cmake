# Runs the chaining example: it trains and freezes a classifier, chains it behind a
# preprocessing graph, saves one bundle and starts itself again to load and run it. Checks
# that both the in-process chain and the fresh process reproduce the original scores.
include(${CMAKE_CURRENT_LIST_DIR}/example_check.cmake)
run_example(--epochs 1 --train 20000)
set(out "${example_output}")
foreach(expect
    "chained graph \\([0-9]+ operations\\) in this process: scores bit-identical to the original model's"
    "\\[fresh process [0-9]+\\] loaded .*/bundle: signature serving_default, input 'image' uint8\\[\\?,28,28\\] -> output 'scores' float32\\[\\?,10\\]"
    "\\[fresh process\\] 10000 images: scores bit-identical to the original model's; accuracy 0\\.[89]"
    "fresh process exited with 0"
    "chain_models: OK")
  if(NOT out MATCHES "${expect}")
    message(FATAL_ERROR "missing line matching: ${expect}")
  endif()
endforeach()
