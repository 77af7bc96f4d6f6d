#!/usr/bin/env bash
# Builds Sluice and trains the MNIST MLP example on Fashion-MNIST (Debian's
# dataset-fashion-mnist), printing progress and, last, "test accuracy: 0.XXXX".
# Installs missing Debian packages first. Extra arguments go to the example
# (e.g. ./run.sh --epochs 3 --optimizer sgd --lr 0.1).
set -euo pipefail
cd "$(dirname "$0")"
source .ci/deps.sh
sluice_install_deps
build=${SLUICE_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target mnist_mlp
exec "$build/examples/mnist_mlp" "$@"
