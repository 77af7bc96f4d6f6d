# The Keras-style CNN on the first 3000 training images for one epoch (validation on the
# last 300 of them): fit, callbacks, checkpoint, evaluate and predict run end to end.
include(${CMAKE_CURRENT_LIST_DIR}/example_check.cmake)
set(dir ${CMAKE_CURRENT_BINARY_DIR}/keras_style_best_ctest)
file(REMOVE_RECURSE ${dir})
run_example(--train 3000 --epochs 1 --checkpoint ${dir})
if(NOT EXISTS ${dir}/model.json)
  message(FATAL_ERROR "ModelCheckpoint wrote no model to ${dir}")
endif()
file(REMOVE_RECURSE ${dir})
check_test_accuracy(0.65)
