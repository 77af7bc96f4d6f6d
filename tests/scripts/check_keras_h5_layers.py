#!/usr/bin/python3
"""Checks the layers of a Keras HDF5 file written by Sluice against what Keras' own layers
write and load (get_config keys, weight count, order and shapes as Keras' build() creates
them), with h5py and NumPy only:

    check_keras_h5_layers.py WRITTEN.h5 CLASS... [LAYER:KEY=JSON...]

Every CLASS named must occur in the model_config; each LAYER:KEY=JSON says that layer's config
has KEY equal to the JSON value (e.g. 'dense:trainable=false'). Serialized initializers,
regularizers and constraints must be objects Keras' deserializers take (known class, only
constructor keys). Prints what is wrong and exits 1, else 0.
"""
import json
import sys

import h5py

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


KEYS = {
    "Dense": ["units", "activation", "use_bias"],
    "Conv2D": ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias"],
    "Conv1D": ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias"],
    "Conv2DTranspose": ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                        "output_padding", "activation", "use_bias"],
    "DepthwiseConv2D": ["kernel_size", "strides", "padding", "data_format", "depth_multiplier", "activation",
                        "use_bias"],
    "SeparableConv2D": ["filters", "kernel_size", "strides", "padding", "data_format", "depth_multiplier",
                        "activation", "use_bias"],
    "MaxPooling2D": ["pool_size", "strides", "padding", "data_format"],
    "AveragePooling2D": ["pool_size", "strides", "padding", "data_format"],
    "MaxPooling1D": ["pool_size", "strides", "padding", "data_format"],
    "AveragePooling1D": ["pool_size", "strides", "padding", "data_format"],
    "BatchNormalization": ["axis", "momentum", "epsilon", "center", "scale"],
    "LayerNormalization": ["axis", "epsilon", "center", "scale"],
    "Embedding": ["input_dim", "output_dim", "mask_zero"],
    "LSTM": ["units", "activation", "recurrent_activation", "use_bias", "return_sequences", "return_state",
             "go_backwards", "stateful", "unit_forget_bias"],
    "GRU": ["units", "activation", "recurrent_activation", "use_bias", "return_sequences", "return_state",
            "go_backwards", "stateful", "reset_after"],
    "SimpleRNN": ["units", "activation", "use_bias", "return_sequences", "return_state", "go_backwards", "stateful"],
    "Bidirectional": ["layer", "merge_mode"],
    "TimeDistributed": ["layer"],
    "ReLU": ["max_value", "negative_slope", "threshold"],
    "Activation": ["activation"],
    "Dropout": ["rate", "noise_shape", "seed"],
    "Concatenate": ["axis"],
    "Reshape": ["target_shape"],
    "Permute": ["dims"],
    "RepeatVector": ["n"],
    "ZeroPadding2D": ["padding", "data_format"],
    "UpSampling2D": ["size", "data_format", "interpolation"],
}
# Keras' serializable initializers / regularizers / constraints and their constructor keys.
OPTION_CLASSES = {
    "initializer": {"Zeros": [], "Ones": [], "Constant": ["value"], "GlorotUniform": ["seed"],
                    "GlorotNormal": ["seed"], "HeUniform": ["seed"], "HeNormal": ["seed"],
                    "RandomUniform": ["minval", "maxval", "seed"], "RandomNormal": ["mean", "stddev", "seed"],
                    "TruncatedNormal": ["mean", "stddev", "seed"], "Orthogonal": ["gain", "seed"]},
    "regularizer": {"L1": ["l1"], "L2": ["l2"], "L1L2": ["l1", "l2"]},
    "constraint": {"MaxNorm": ["max_value", "axis"], "NonNeg": [], "UnitNorm": ["axis"],
                   "MinMaxNorm": ["min_value", "max_value", "rate", "axis"]},
}
# The option keys each class's constructor takes (others make Keras' from_config raise).
OPTION_PREFIXES = {
    "Dense": ["kernel_", "bias_"], "Conv1D": ["kernel_", "bias_"], "Conv2D": ["kernel_", "bias_"],
    "Conv2DTranspose": ["kernel_", "bias_"], "DepthwiseConv2D": ["depthwise_", "bias_"],
    "SeparableConv2D": ["depthwise_", "pointwise_", "bias_"], "Embedding": ["embeddings_"],
    "LSTM": ["kernel_", "recurrent_", "bias_"], "GRU": ["kernel_", "recurrent_", "bias_"],
    "SimpleRNN": ["kernel_", "recurrent_", "bias_"],
    "BatchNormalization": ["beta_", "gamma_", "moving_mean_", "moving_variance_"],
    "LayerNormalization": ["beta_", "gamma_"],
}


def check_options(cls, name, c):
    check(isinstance(c.get("trainable", True), bool), "%s (%s): 'trainable' is not a bool" % (cls, name))
    for key, v in c.items():
        kind = key.rsplit("_", 1)[-1]
        if kind not in OPTION_CLASSES or key == "activity_regularizer" and v is None:
            continue
        if key != "activity_regularizer":
            prefix = key[: -len(kind)]
            check(prefix in OPTION_PREFIXES.get(cls, []), "%s (%s): Keras' constructor takes no '%s'" % (cls, name, key))
            if kind != "initializer" and prefix in ("moving_mean_", "moving_variance_"):
                check(False, "%s (%s): '%s' does not exist in Keras" % (cls, name, key))
        if v is None:
            continue
        ok = isinstance(v, dict) and set(v) == {"class_name", "config"} and v["class_name"] in OPTION_CLASSES[kind]
        check(ok, "%s (%s): '%s' is not a serialized Keras %s: %s" % (cls, name, key, kind, v))
        if ok:
            allowed = OPTION_CLASSES[kind][v["class_name"]]
            check(set(v["config"]) <= set(allowed), "%s (%s): '%s' config keys %s, %s takes %s" %
                  (cls, name, key, sorted(v["config"]), v["class_name"], allowed))


GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
# Keys a class's constructor does not take: Keras' from_config raises on them.
FORBIDDEN = {"SimpleRNN": ["recurrent_activation", "unit_forget_bias", "reset_after"],
             "GRU": ["unit_forget_bias"], "LSTM": ["reset_after"],
             "GlobalAveragePooling2D": ["keepdims"], "GlobalMaxPooling2D": ["keepdims"],
             "GlobalAveragePooling1D": ["keepdims"], "GlobalMaxPooling1D": ["keepdims"]}


def rnn_shapes(cls, c, features):
    u, g = c["units"], GATES[cls]
    shapes = [(features, g * u), (u, g * u)]
    if c["use_bias"]:
        shapes.append((2, g * u) if cls == "GRU" and c["reset_after"] else (g * u,))
    return shapes


def expected_shapes(cls, c, w):
    """The weight shapes Keras' build() makes, given the written ones' input sizes."""
    if cls == "Dense":
        return [(w[0].shape[0], c["units"])] + ([(c["units"],)] if c["use_bias"] else [])
    if cls in ("Conv2D", "Conv1D"):
        k = tuple(c["kernel_size"]) + (w[0].shape[-2], c["filters"])
        return [k] + ([(c["filters"],)] if c["use_bias"] else [])
    if cls == "Conv2DTranspose":  # [kh, kw, filters, in]
        return [tuple(c["kernel_size"]) + (c["filters"], w[0].shape[-1])] + ([(c["filters"],)] if c["use_bias"] else [])
    if cls in ("DepthwiseConv2D", "SeparableConv2D"):
        cin, m = w[0].shape[2], c["depth_multiplier"]
        s = [tuple(c["kernel_size"]) + (cin, m)]
        if cls == "SeparableConv2D":
            s.append((1, 1, cin * m, c["filters"]))
        out = c["filters"] if cls == "SeparableConv2D" else cin * m
        return s + ([(out,)] if c["use_bias"] else [])
    if cls in ("BatchNormalization", "LayerNormalization"):
        n = w[0].shape
        return [n] * ((1 if c["scale"] else 0) + (1 if c["center"] else 0) + (2 if cls == "BatchNormalization" else 0))
    if cls == "Embedding":
        return [(c["input_dim"], c["output_dim"])]
    if cls in GATES:
        return rnn_shapes(cls, c, w[0].shape[0])
    if cls == "Bidirectional":
        inner = c["layer"]
        s = rnn_shapes(inner["class_name"], inner["config"], w[0].shape[0])
        return s + s
    if cls == "TimeDistributed":
        return expected_shapes(c["layer"]["class_name"], c["layer"]["config"], w)
    return []


f = h5py.File(sys.argv[1], "r")
cfg = json.loads(f.attrs["model_config"])
layers = cfg["config"]["layers"]
seen = set()
for l in layers:
    cls, c, name = l["class_name"], l["config"], l["config"]["name"]
    seen.add(cls)
    check_options(cls, name, c)
    if cls == "TimeDistributed":
        ic = c["layer"]["config"]
        check_options(c["layer"]["class_name"], ic["name"], ic)
        for k in KEYS.get(c["layer"]["class_name"], []):
            check(k in ic, "%s (%s): inner config lacks '%s'" % (cls, name, k))
    for k in KEYS.get(cls, []):
        check(k in c, "%s (%s): config lacks '%s'" % (cls, name, k))
    for k in FORBIDDEN.get(cls, []):
        check(k not in c, "%s (%s): config has '%s', which Keras' constructor rejects" % (cls, name, k))
    if cls == "Bidirectional":
        for k in FORBIDDEN.get(c["layer"]["class_name"], []):
            check(k not in c["layer"]["config"], "%s (%s): inner config has '%s'" % (cls, name, k))
        for k in KEYS[c["layer"]["class_name"]]:
            check(k in c["layer"]["config"], "%s (%s): inner config lacks '%s'" % (cls, name, k))
    if cls in ("Conv2D", "Conv1D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D"):
        for k in ("kernel_size", "strides", "dilation_rate", "pool_size"):
            if k in c:
                check(isinstance(c[k], list) and all(isinstance(v, int) for v in c[k]),
                      "%s (%s): '%s' is not a list of ints" % (cls, name, k))
    g = f["model_weights"][name]
    wn = [x.decode() if isinstance(x, bytes) else x for x in g.attrs["weight_names"]]
    w = [g[n] for n in wn]
    want = expected_shapes(cls, c, w)
    check([tuple(x.shape) for x in w] == [tuple(s) for s in want],
          "%s (%s): weight shapes %s, Keras builds %s" % (cls, name, [x.shape for x in w], want))
    if cls == "BatchNormalization" and c["center"] and c["scale"]:
        ends = [n.split("/")[-1].split(":")[0] for n in wn]
        check(ends == ["gamma", "beta", "moving_mean", "moving_variance"], "%s: weight order %s" % (name, ends))
        check(float(w[3][...].min()) >= 0, "%s: negative moving variance" % name)
    if cls == "Bidirectional":
        half = len(wn) // 2
        check(all("forward_" in n for n in wn[:half]) and all("backward_" in n for n in wn[half:]),
              "%s: forward weights then backward ones expected: %s" % (name, wn))
    for n in l.get("inbound_nodes", []):
        for ref in n:
            check(isinstance(ref[0], str) and isinstance(ref[1], int) and isinstance(ref[2], int),
                  "%s: malformed inbound %s" % (name, ref))
# Node indices (shared layers: one inbound node per call) must name an existing call.
calls = {l["config"]["name"]: max(1, len(l.get("inbound_nodes", []))) for l in layers}
refs = [(l["config"]["name"], ref) for l in layers for n in l.get("inbound_nodes", []) for ref in n]
refs += [("output_layers", ref) for ref in cfg["config"].get("output_layers", [])]
for user, ref in refs:
    check(ref[0] in calls and 0 <= ref[1] < calls[ref[0]],
          "%s: inbound %s names a node '%s' does not have" % (user, ref[:3], ref[0]))
by_name = {l["config"]["name"]: l["config"] for l in layers}
nodes_of = {l["config"]["name"]: l.get("inbound_nodes", []) for l in layers}
for arg in sys.argv[2:]:
    if "=" not in arg:
        check(arg in seen, "no %s layer in the config" % arg)
        continue
    target, value = arg.split("=", 1)
    if target.endswith("#inbound_nodes"):  # LAYER#inbound_nodes=[[[...]]], ignoring kwargs
        lname = target[: -len("#inbound_nodes")]
        got = [[ref[:3] for ref in n] for n in nodes_of.get(lname, [])]
        check(got == json.loads(value), "%s: inbound nodes %s, expected %s" % (lname, got, value))
        continue
    lname, key = target.split(":", 1)
    got = by_name.get(lname, {}).get(key, "<missing>")
    check(got == json.loads(value), "%s: '%s' is %s, expected %s" % (lname, key, json.dumps(got), value))

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
