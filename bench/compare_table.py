#!/usr/bin/python3
"""Joins Sluice's and the peers' benchmark results into one table (bench/compare.sh).

Inputs (in the folder given as argv[1]): sluice.json (Google Benchmark, aggregates),
w6_t<threads>.jsonl and w7_t<threads>.jsonl (Sluice end-to-end), openblas.md (rows of
openblas_gemm), torch.md (rows of torch_bench.py). Prints a markdown table: workload,
threads, Sluice median, peer, peer median, ratio (Sluice speed / peer speed: > 1 means
Sluice is faster), target.
"""
import json
import os
import statistics
import sys

d = sys.argv[1]


def rows(name):
    """Markdown rows '| workload | impl | threads | median | ... | unit | ...' as dicts."""
    out = []
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return out
    for line in open(p):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[2].isdigit():
            out.append({"wl": cells[0], "impl": cells[1], "t": int(cells[2]), "med": float(cells[3]), "unit": cells[5]})
    return out


def peer(rows_, prefix, t, impl_part=""):
    for r in rows_:
        if r["wl"].startswith(prefix) and r["t"] == t and impl_part in r["impl"]:
            return r
    return None


sluice = {}
p = os.path.join(d, "sluice.json")
if os.path.exists(p):
    for b in json.load(open(p))["benchmarks"]:
        if b.get("aggregate_name") == "median" and not b.get("error_occurred"):
            sluice[b["run_name"].replace("/real_time", "")] = b


def sl(name, key=None):
    b = sluice.get(name)
    if b is None:
        return None
    if key:
        v = b.get(key)
        return None if v is None else float(v)
    unit = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * unit  # ms


def train(kind, t):
    p = os.path.join(d, f"{kind}_t{t}.jsonl")
    if not os.path.exists(p):
        return None
    vals = [json.loads(l)["seconds"] for l in open(p) if l.strip().startswith("{")]
    return statistics.median(vals) if vals else None


torch = rows("torch.md")
oblas = rows("openblas.md")
table = []


def add(wl, t, s_val, s_unit, peer_row, peer_name, higher_is_better, target):
    if s_val is None and peer_row is None:
        return
    s_txt = "—" if s_val is None else f"{s_val:.4g} {s_unit}"
    p_txt = "—" if peer_row is None else f"{peer_row['med']:.4g} {peer_row['unit']}"
    ratio = "—"
    if s_val is not None and peer_row is not None and s_val > 0 and peer_row["med"] > 0:
        r = s_val / peer_row["med"] if higher_is_better else peer_row["med"] / s_val
        ratio = f"{r:.2f}x"
    table.append(f"| {wl} | {t} | {s_txt} | {peer_name} | {p_txt} | {ratio} | {target} |")


for t in (1, 2):
    for n in (256, 512, 1024, 2048):
        add(f"W1 GEMM {n}", t, sl(f"W1_GEMM/{n}/{t}", "GFLOP/s"), "GFLOP/s",
            peer(oblas, f"W1 GEMM {n}", t, "SkylakeX") or peer(oblas, f"W1 GEMM {n}", t), "OpenBLAS direct", True, ">= 0.95x")
    add("W2 Dense 256x784->1024 relu", t, sl(f"W2_Dense/256/784/1024/1/{t}"), "ms",
        peer(torch, "W2 Dense 256x784", t), "PyTorch", False, ">= 0.95x of OpenBLAS")
    add("W2 Dense 64x1024->1024", t, sl(f"W2_Dense/64/1024/1024/0/{t}"), "ms",
        peer(torch, "W2 Dense 64x1024", t), "PyTorch", False, "")
    add("W3a Conv 64x28x28x1->32 3x3 +b+relu", t, sl(f"W3a_Conv/{t}"), "ms",
        peer(torch, "W3a", t, "channels_last"), "PyTorch (channels_last)", False, ">= 1x")
    add("W3b Conv 8x56x56x64->64 3x3", t, sl(f"W3b_Conv/{t}"), "ms",
        peer(torch, "W3b", t, "channels_last"), "PyTorch (channels_last)", False, ">= 1x")
    add("W3c Conv fwd+dX+dW", t, sl(f"W3c_ConvTrain/{t}"), "ms",
        peer(torch, "W3c", t, "channels_last"), "PyTorch (channels_last)", False, ">= 1x")
    add("W4a LSTM 64x20x64->32 last", t, sl(f"W4a_Lstm/{t}"), "ms", peer(torch, "W4a", t), "PyTorch", False, ">= 1.5x")
    add("W4b LSTM 32x50x128->256 seq", t, sl(f"W4b_Lstm/{t}"), "ms", peer(torch, "W4b", t), "PyTorch", False, ">= 1.5x")
    add("W4c LSTM fwd+bwd", t, sl(f"W4c_LstmTrain/{t}"), "ms", peer(torch, "W4c", t), "PyTorch", False, ">= 1.5x")
    add("W5 BatchNorm train fwd 64x56x56x64", t, sl(f"W5_BatchNorm/{t}"), "ms",
        peer(torch, "W5", t, "channels_last"), "PyTorch (channels_last)", False, ">= 1.5x")
    add("W6 MLP epoch", t, train("w6", t), "s", peer(torch, "W6", t), "PyTorch", False, ">= 4x")
    add("W7 CNN 200 steps", t, train("w7", t), "s", peer(torch, "W7", t), "PyTorch", False, ">= 1.3x")
    w8 = sl(f"W8_PerOpOverhead/{t}")
    add("W8 per-op overhead", t, None if w8 is None else w8 * 1e3 / 1000, "us/op", peer(torch, "W8", t), "PyTorch", False,
        "< 0.2 us/op")
    w9 = sl(f"W9_MlpInference/{t}")
    add("W9 MLP inference batch 1", t, None if w9 is None else w9 * 1e3, "us", peer(torch, "W9", t), "PyTorch", False,
        "< 5 us")

print("| workload | threads | Sluice (median) | peer | peer (median) | ratio | target |")
print("|---|---|---|---|---|---|---|")
for line in table:
    print(line)
