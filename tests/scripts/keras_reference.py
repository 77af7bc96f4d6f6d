#!/usr/bin/python3
"""An independent reference for Keras HDF5 models: reads the file with h5py and runs its
model_config in plain NumPy (float64), for the layer classes of ../shared/interop/keras.

    keras_reference.py MODEL.h5 INPUTS.npz OUTPUTS.npz

INPUTS.npz holds one array per model input (keyed by input layer name); OUTPUTS.npz gets
one array per model output, keyed out0, out1, ... in the config's output order. Written from
Keras' documented semantics, sharing no code with Sluice (test_keras_h5_reference.cc runs it).
"""
import json
import sys

import h5py
import numpy as np


def act(name, x):
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "hard_sigmoid":
        return np.clip(0.2 * x + 0.5, 0, 1)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise NotImplementedError(name)


def conv(x, k, strides, padding, dil=None):
    """x [N, *spatial, C], k [*ks, C, F], NHWC cross-correlation as tf.nn.convolution."""
    nd = k.ndim - 2
    dil = dil or [1] * nd
    ks = [(k.shape[i] - 1) * dil[i] + 1 for i in range(nd)]
    if padding == "same":
        pads = []
        for i in range(nd):
            n = x.shape[1 + i]
            out = -(-n // strides[i])
            total = max((out - 1) * strides[i] + ks[i] - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    outs = [(x.shape[1 + i] - ks[i]) // strides[i] + 1 for i in range(nd)]
    y = np.zeros([x.shape[0]] + outs + [k.shape[-1]])
    for idx in np.ndindex(*k.shape[:nd]):
        sl = [slice(None)]
        for i in range(nd):
            start = idx[i] * dil[i]
            sl.append(slice(start, start + (outs[i] - 1) * strides[i] + 1, strides[i]))
        y += np.tensordot(x[tuple(sl)], k[idx], axes=([x.ndim - 1], [0]))
    return y


def pool(x, size, strides, padding, op):
    nd = len(size)
    if padding == "same":
        raise NotImplementedError("same pooling")
    outs = [(x.shape[1 + i] - size[i]) // strides[i] + 1 for i in range(nd)]
    windows = []
    for idx in np.ndindex(*size):
        sl = [slice(None)] + [slice(idx[i], idx[i] + (outs[i] - 1) * strides[i] + 1, strides[i]) for i in range(nd)]
        windows.append(x[tuple(sl)])
    w = np.stack(windows)
    return w.max(axis=0) if op == "max" else w.mean(axis=0)


def rnn(kind, cfg, w, x, states, go_backwards=False):
    """Keras LSTM / GRU / SimpleRNN over x [N, T, F]; returns (sequence, final states)."""
    units = cfg["units"]
    a, ra = cfg.get("activation", "tanh"), cfg.get("recurrent_activation", "sigmoid")
    kern, rec = w[0], w[1]
    bias = w[2] if len(w) > 2 else None
    n, t = x.shape[0], x.shape[1]
    steps = range(t - 1, -1, -1) if go_backwards else range(t)
    seq = []
    if kind == "LSTM":
        h = states[0] if states else np.zeros((n, units))
        c = states[1] if states else np.zeros((n, units))
        for s in steps:
            z = x[:, s] @ kern + h @ rec + (bias if bias is not None else 0)
            i, f, g, o = (z[:, j * units:(j + 1) * units] for j in range(4))
            c = act(ra, f) * c + act(ra, i) * act(a, g)
            h = act(ra, o) * act(a, c)
            seq.append(h)
        fin = [h, c]
    elif kind == "GRU":
        h = states[0] if states else np.zeros((n, units))
        after = cfg.get("reset_after", False)
        for s in steps:
            bi = bias[0] if (bias is not None and after) else (bias if bias is not None else np.zeros(3 * units))
            br = bias[1] if (bias is not None and after) else np.zeros(3 * units)
            xz = x[:, s] @ kern + bi
            u = lambda j, m: m[:, j * units:(j + 1) * units]
            if after:
                hr = h @ rec + br
                z = act(ra, u(0, xz) + u(0, hr))
                r = act(ra, u(1, xz) + u(1, hr))
                hh = act(a, u(2, xz) + r * u(2, hr))
            else:
                z = act(ra, u(0, xz) + h @ rec[:, :units])
                r = act(ra, u(1, xz) + h @ rec[:, units:2 * units])
                hh = act(a, u(2, xz) + (r * h) @ rec[:, 2 * units:])
            h = z * h + (1 - z) * hh
            seq.append(h)
        fin = [h]
    else:
        h = states[0] if states else np.zeros((n, units))
        for s in steps:
            h = act(a, x[:, s] @ kern + h @ rec + (bias if bias is not None else 0))
            seq.append(h)
        fin = [h]
    return np.stack(seq, axis=1), fin


def run_layer(cls, cfg, w, ins, states):
    if cfg.get("data_format") == "channels_first" and ins[0].ndim >= 3:
        # Keras: the channels-last computation on a transposed input; spatial outputs go back.
        r = ins[0].ndim
        x = np.transpose(ins[0], [0] + list(range(2, r)) + [1])
        y = run_layer(cls, dict(cfg, data_format="channels_last"), w, [x] + ins[1:], states)
        if y[0].ndim == r:
            y[0] = np.transpose(y[0], [0, r - 1] + list(range(1, r - 1)))
        return y
    x = ins[0]
    if cls == "TimeDistributed":
        inner = cfg["layer"]
        n, t = x.shape[0], x.shape[1]
        y = run_layer(inner["class_name"], inner["config"], w, [x.reshape((n * t,) + x.shape[2:])], [])[0]
        return [y.reshape((n, t) + y.shape[1:])]
    if cls == "Sequential":
        # A nested model: its layers in order, each taking its weights ("<layer>/...") in turn.
        for l in (cfg if isinstance(cfg, list) else cfg["layers"]):
            if l["class_name"] == "InputLayer":
                continue
            name = l["config"]["name"]
            mine = [v for n, v in w if n.split("/")[0] == name]
            x = run_layer(l["class_name"], l["config"], mine, [x], [])[0]
        return [x]
    if cls in ("Functional", "Model"):
        # A nested functional model: its inputs from `ins`, its layers in the listed order, each
        # reading [layer, node 0, tensor] of earlier ones, its weights by name (the file lists
        # the nested model's trainable weights first, then the non-trainable ones).
        def refs(lst):
            return lst if isinstance(lst[0], list) else [lst]
        made = {r[0]: [v] for r, v in zip(refs(cfg["input_layers"]), ins)}
        for l in cfg["layers"]:
            name = l["config"]["name"]
            if l["class_name"] == "InputLayer":
                continue
            mine = [v for n, v in w if n.split("/")[0] == name]
            node = [made[e[0]][e[2]] for e in l["inbound_nodes"][0]]
            rnn_like = l["class_name"] in ("LSTM", "GRU", "SimpleRNN", "Bidirectional")
            made[name] = run_layer(l["class_name"], l["config"], mine, node[:1] if rnn_like else node,
                                   node[1:] if rnn_like else [])
        return [made[r[0]][r[2]] for r in refs(cfg["output_layers"])]
    if cls == "GlobalAveragePooling2D":
        return [x.mean(axis=(1, 2))]
    if cls == "GlobalMaxPooling1D":
        return [x.max(axis=1)]
    if cls == "Dense":
        y = x @ w[0] + (w[1] if cfg.get("use_bias", True) else 0)
        return [act(cfg.get("activation", "linear"), y)]
    if cls in ("Conv2D", "Conv1D"):
        nd = 2 if cls == "Conv2D" else 1
        y = conv(x, w[0], cfg["strides"][:nd], cfg["padding"], cfg.get("dilation_rate", [1] * nd))
        if cfg.get("use_bias", True):
            y = y + w[1]
        return [act(cfg.get("activation", "linear"), y)]
    if cls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) else axis
        if axis not in (-1, x.ndim - 1):  # parameters broadcast along `axis`
            shape = [1] * x.ndim
            shape[axis] = -1
            w = [v.reshape(shape) for v in w]
        i = 0
        gamma = w[i] if cfg.get("scale", True) else 1
        i += 1 if cfg.get("scale", True) else 0
        beta = w[i] if cfg.get("center", True) else 0
        i += 1 if cfg.get("center", True) else 0
        mean, var = w[i], w[i + 1]
        return [gamma * (x - mean) / np.sqrt(var + cfg["epsilon"]) + beta]
    if cls == "Activation":
        return [act(cfg["activation"], x)]
    if cls == "ReLU":
        y = np.maximum(x, 0)
        return [y if cfg.get("max_value") is None else np.minimum(y, cfg["max_value"])]
    if cls in ("MaxPooling2D", "AveragePooling2D", "MaxPooling1D"):
        return [pool(x, cfg["pool_size"], cfg["strides"] or cfg["pool_size"], cfg["padding"],
                     "max" if cls.startswith("Max") else "avg")]
    if cls == "Flatten":
        return [x.reshape(x.shape[0], -1)]
    if cls == "Dropout":
        return [x]
    if cls == "Add":
        return [sum(ins)]
    if cls == "Embedding":
        return [w[0][x.astype(np.int64)]]
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        seq, fin = rnn(cls, cfg, w, x, states, cfg.get("go_backwards", False))
        out = seq if cfg.get("return_sequences") else seq[:, -1]
        return [out] + (fin if cfg.get("return_state") else [])
    if cls == "Bidirectional":
        inner = cfg["layer"]
        icls, icfg = inner["class_name"], inner["config"]
        half = len(w) // 2
        nst = 2 if icls == "LSTM" else 1
        fs, bs = (states[:nst], states[nst:]) if states else ([], [])
        fseq, ffin = rnn(icls, icfg, w[:half], x, fs, False)
        bseq, bfin = rnn(icls, icfg, w[half:], x, bs, True)
        if icfg.get("return_sequences"):
            f, b = fseq, bseq[:, ::-1]
        else:
            f, b = fseq[:, -1], bseq[:, -1]
        mode = cfg.get("merge_mode", "concat")
        y = {"concat": lambda: np.concatenate([f, b], axis=-1), "sum": lambda: f + b,
             "mul": lambda: f * b, "ave": lambda: (f + b) / 2}[mode]()
        return [y] + (ffin + bfin if icfg.get("return_state") else [])
    raise NotImplementedError(cls)


def main():
    path, in_path, out_path = sys.argv[1:4]
    f = h5py.File(path, "r")
    cfg = json.loads(f.attrs["model_config"])
    mc = cfg["config"]
    feeds = dict(np.load(in_path))
    mw = f["model_weights"]
    all_layers = mc if isinstance(mc, list) else mc["layers"]
    classes = {l["config"]["name"]: l["class_name"] for l in all_layers if isinstance(l.get("config"), dict)}
    classes.update({l["name"]: l["class_name"] for l in all_layers if "name" in l})

    def weights(name):
        if name not in mw:
            return []
        g = mw[name]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs.get("weight_names", [])]
        if classes.get(name) in ("Sequential", "Functional", "Model"):  # nested: names split by layer
            return [(n, np.array(g[n], dtype=np.float64)) for n in names]
        return [np.array(g[n], dtype=np.float64) for n in names]

    if cfg["class_name"] == "Sequential":
        layers = mc if isinstance(mc, list) else mc["layers"]
        x = feeds[layers[0]["config"]["name"] + "_input"].astype(np.float64)
        for l in layers:
            x = run_layer(l["class_name"], l["config"], weights(l["config"]["name"]), [x], [])[0]
        outs = [x]
    else:
        produced = {}
        for l in mc["layers"]:
            if l["class_name"] == "InputLayer":
                produced[(l["config"]["name"], 0)] = [feeds[l["config"]["name"]].astype(np.float64)]
        pending = [l for l in mc["layers"] if l["class_name"] != "InputLayer"]
        while pending:
            rest = []
            for l in pending:
                node = l["inbound_nodes"][0]
                if not all((e[0], e[1]) in produced for e in node):
                    rest.append(l)
                    continue
                ins = [produced[(e[0], e[1])][e[2]] for e in node]
                rnn_like = l["class_name"] in ("LSTM", "GRU", "SimpleRNN", "Bidirectional")
                states = ins[1:] if rnn_like else []
                ins = ins[:1] if rnn_like else ins
                produced[(l["config"]["name"], 0)] = run_layer(l["class_name"], l["config"],
                                                               weights(l["config"]["name"]), ins, states)
            if len(rest) == len(pending):
                raise RuntimeError("unresolvable inbound nodes")
            pending = rest
        outs = [produced[(o[0], o[1])][o[2]] for o in mc["output_layers"]]
    np.savez(out_path, **{"out%d" % i: o for i, o in enumerate(outs)})


if __name__ == "__main__":
    main()
