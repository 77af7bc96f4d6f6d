#!/usr/bin/python3
"""PyTorch eager inference time of the models tests/onnx_models/export_models.py exports
(the same architectures, built by its model_list(); random weights, BatchNorm at its
initial statistics: the speed does not depend on the values), timed like
bench/onnx_models.cpp times Sluice: the median wall time of `runs` forward calls under
torch.no_grad() in eval mode, after two warm-up calls, per batch size, with
torch.set_num_threads(threads). Inputs are normal values of the exported input's shape
with the batch replaced. Prints "torch <model> batch <b> threads <t> median_ms <m>".

    /usr/bin/python3 bench/onnx_torch.py <models dir> <model> <threads> <runs> <batch>...

Uses Debian's python3-torch and python3-torchvision (bench/onnx_compare.sh skips these rows
without them).
"""
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "onnx_models"))
from export_models import model_list  # noqa: E402


def main():
    models_dir, name, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    batches = [int(b) for b in sys.argv[5:]]
    torch.set_num_threads(threads)
    make = {n: (m, s) for n, m, s in model_list(torch, torchvision)}[name][0]
    shape = np.load(os.path.join(models_dir, name + ".input.npy"), mmap_mode="r").shape
    torch.manual_seed(0)
    model = make().eval()
    for b in batches:
        x = torch.randn(b, *shape[1:])
        with torch.no_grad():
            for _ in range(2):
                model(x)
            ms = []
            for _ in range(runs):
                t0 = time.perf_counter()
                model(x)
                ms.append((time.perf_counter() - t0) * 1e3)
        ms.sort()
        print("torch %s batch %d threads %d median_ms %.3f" % (name, b, threads, ms[len(ms) // 2]), flush=True)


if __name__ == "__main__":
    main()
