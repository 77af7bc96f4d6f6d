#!/usr/bin/env bash
# Installs the Debian packages Sluice builds, tests and runs with (only those missing).
# Sourced by ./run.sh, ./test.sh and .ci/run. Needs root (or sudo) when something is missing.
sluice_packages=(
  g++ cmake make pkg-config
  libeigen3-dev libopenblas-dev zlib1g-dev   # kernels, GEMM, gzip'd data
  nlohmann-json3-dev libcli11-dev            # graph files, example command lines
  libgtest-dev libbenchmark-dev              # tests, benchmarks
  libprotobuf-dev protobuf-compiler          # TensorFlow GraphDefs/MetaGraphs/SavedModels (io/tf/tf.proto)
  libsnappy-dev                              # Snappy-compressed blocks of TensorFlow checkpoint indexes
  dataset-fashion-mnist                      # the default training data
  libonnx-dev libprotobuf-dev                # ONNX import: ONNX's protobuf classes and op schemas
  libonnx-testdata                           # ONNX's backend test data (ctest onnx_conformance)
  python3-torch python3-torchvision          # exports the real models test_onnx_models runs
  libcpp-httplib-dev                         # the serving tests' HTTP client
  wrk                                        # bench/serving/load.sh: HTTP load on loopback
  curl                                       # examples/serve_mnist.sh sends its requests with curl
  graphviz gnuplot-nox                       # `sluice graph` (dot draws the graph) and `sluice plot` (training curves)
  libpng-dev                                 # test_cli_convert decodes the PNG pictures
  libhdf5-dev                                # Keras HDF5 models in and out (io/keras/, HDF5's C API)
  python3-h5py                               # Keras .h5 tests: NumPy reference and layout checks read files with h5py
  libopenmpi-dev openmpi-bin                 # distributed/: data-parallel training on MPI; mpirun runs its tests
  libspng-dev                                # decode_png / encode_png (ops/codec_ops.cc)
  libturbojpeg0-dev                          # decode_jpeg (ops/codec_ops.cc)
)
# Only for the `browser` ctest label (.ci/run): headless Chromium loads `sluice serve`'s status page.
sluice_browser_packages=(chromium)
sluice_install_deps() {
  local missing=()
  for p in "${sluice_packages[@]}"; do
    [[ "$p" == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
