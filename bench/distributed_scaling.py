#!/usr/bin/env python3
"""The README's data-parallel scaling model (issue 15), fed with measured numbers.

Per step, machine batch b, N machines:
  T(N) = t_img * b + allreduce(N),  allreduce(N) = 2 (N-1)/N * bytes / bandwidth
                                                 + 2 (N-1) * latency + cycle
(ring allreduce: 2(N-1) messages of bytes/N each; `cycle` is one negotiation cycle of the
engine, taken as not hidden). Efficiency E = t_img * b / T(N); the batch for E >= 90 % is
b = 9 * allreduce(N) / t_img. No overlap with the backward pass is credited (conservative).

  bench/distributed_scaling.py --mlp-cpu-ms 0.60 --cnn-cpu-ms 86 --batch 64
(cpu_ms_per_step of bench_distributed_train with one process, at --batch.)
"""
import argparse
import math

p = argparse.ArgumentParser()
p.add_argument("--mlp-cpu-ms", type=float, default=0.60)
p.add_argument("--cnn-cpu-ms", type=float, default=86.0)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--mlp-bytes", type=int, default=473128)    # bench_distributed_train grad_bytes
p.add_argument("--cnn-bytes", type=int, default=4799528)
p.add_argument("--cycle-ms", type=float, default=1.0)
a = p.parse_args()
models = {"MLP": (a.mlp_cpu_ms * 1e-3 / a.batch, a.mlp_bytes),
          "CNN": (a.cnn_cpu_ms * 1e-3 / a.batch, a.cnn_bytes)}
nets = {"10 Gbit/s": (1.25e9, 25e-6), "100 Gbit/s": (12.5e9, 10e-6)}  # bandwidth B/s, latency s
print("| model | network | N | allreduce ms | efficiency at b=%d | b for 90 %% (global batch) |" % a.batch)
print("|---|---|---|---|---|---|")
for m, (t, nbytes) in models.items():
    for n, (bw, lat) in nets.items():
        for N in (8, 32, 128):
            ar = 2 * (N - 1) / N * nbytes / bw + 2 * (N - 1) * lat + a.cycle_ms * 1e-3
            b90 = math.ceil(9 * ar / t)
            eff = t * a.batch / (t * a.batch + ar)
            print("| %s | %s | %d | %.2f | %.0f %% | %d (%d) |" % (m, n, N, ar * 1e3, eff * 100, b90, b90 * N))
