#!/usr/bin/python3
"""Writes a tiny Keras HDF5 model file in tf.keras 2.4's layout with h5py (no TensorFlow):
root attributes keras_version/backend/model_config, model_weights/<layer>/<weight> datasets
with random float32 values (seeded), for the layer wrappers test_keras_h5_wrappers.cc loads:

    make_keras_h5_fixture.py OUT.h5 channels_first|time_distributed|nested|wrapped_options|nested_functional|
    nested_functional_multi

(wrapped_options: a frozen TimeDistributed Dense with an L2 kernel regularizer, and a nested
Sequential whose first Dense is frozen with a NonNeg kernel constraint.)
"""
import json
import sys

import h5py
import numpy as np

rng = np.random.default_rng(7)


def inp(name, shape):
    return {"class_name": "InputLayer", "name": name, "inbound_nodes": [],
            "config": {"batch_input_shape": [None] + shape, "dtype": "float32", "sparse": False,
                       "ragged": False, "name": name}}


def layer(cls, name, cfg, inbound):
    cfg = dict(cfg, name=name, trainable=True, dtype="float32")
    return {"class_name": cls, "name": name, "config": cfg,
            "inbound_nodes": [[[i, 0, 0, {}] for i in inbound]] if inbound else []}


def rand(*shape):
    return rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)


def build(kind):
    """(layers, inputs, outputs, weights: layer -> [(name, array)])"""
    w = {}
    cf = "channels_first"
    if kind == "channels_first":
        ls = [inp("image", [2, 6, 5]), inp("signal", [3, 8]),
              layer("Conv2D", "conv2d", {"filters": 3, "kernel_size": [3, 2], "strides": [1, 1], "padding": "same",
                                         "data_format": cf, "dilation_rate": [1, 1], "activation": "relu",
                                         "use_bias": True}, ["image"]),
              layer("BatchNormalization", "batch_normalization", {"axis": [1], "momentum": 0.99, "epsilon": 0.001,
                                                                  "center": True, "scale": True}, ["conv2d"]),
              layer("MaxPooling2D", "max_pooling2d", {"pool_size": [2, 2], "strides": [2, 1], "padding": "valid",
                                                      "data_format": cf}, ["batch_normalization"]),
              layer("Flatten", "flatten", {"data_format": cf}, ["max_pooling2d"]),
              layer("Dense", "dense", {"units": 4, "activation": "tanh", "use_bias": True}, ["flatten"]),
              layer("GlobalAveragePooling2D", "global_average_pooling2d", {"data_format": cf}, ["conv2d"]),
              layer("Conv1D", "conv1d", {"filters": 4, "kernel_size": [3], "strides": [1], "padding": "valid",
                                         "data_format": cf, "dilation_rate": [1], "activation": "linear",
                                         "use_bias": False}, ["signal"]),
              layer("MaxPooling1D", "max_pooling1d", {"pool_size": [2], "strides": [2], "padding": "valid",
                                                      "data_format": cf}, ["conv1d"]),
              layer("GlobalMaxPooling1D", "global_max_pooling1d", {"data_format": cf}, ["max_pooling1d"])]
        w["conv2d"] = [("conv2d/kernel:0", rand(3, 2, 2, 3)), ("conv2d/bias:0", rand(3))]
        w["batch_normalization"] = [("batch_normalization/gamma:0", 1 + rand(3)),
                                    ("batch_normalization/beta:0", rand(3)),
                                    ("batch_normalization/moving_mean:0", rand(3)),
                                    ("batch_normalization/moving_variance:0", 1 + rand(3))]
        w["dense"] = [("dense/kernel:0", rand(3 * 3 * 4, 4)), ("dense/bias:0", rand(4))]
        w["conv1d"] = [("conv1d/kernel:0", rand(3, 3, 4))]
        return ls, ["image", "signal"], ["dense", "global_average_pooling2d", "max_pooling1d", "global_max_pooling1d"], w
    if kind == "time_distributed":
        ls = [inp("frames", [4, 5, 5, 1]),
              layer("TimeDistributed", "time_distributed",
                    {"layer": {"class_name": "Conv2D", "config": {
                        "name": "conv2d", "trainable": True, "dtype": "float32", "filters": 2, "kernel_size": [2, 2],
                        "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
                        "dilation_rate": [1, 1], "activation": "relu", "use_bias": True}}}, ["frames"]),
              layer("TimeDistributed", "time_distributed_1",
                    {"layer": {"class_name": "Flatten", "config": {"name": "flatten", "trainable": True,
                                                                    "dtype": "float32",
                                                                    "data_format": "channels_last"}}},
                    ["time_distributed"]),
              layer("TimeDistributed", "time_distributed_2",
                    {"layer": {"class_name": "Dense", "config": {
                        "name": "dense", "trainable": True, "dtype": "float32", "units": 3,
                        "activation": "sigmoid", "use_bias": True}}}, ["time_distributed_1"])]
        w["time_distributed"] = [("time_distributed/kernel:0", rand(2, 2, 1, 2)), ("time_distributed/bias:0", rand(2))]
        w["time_distributed_2"] = [("time_distributed_2/kernel:0", rand(32, 3)), ("time_distributed_2/bias:0", rand(3))]
        return ls, ["frames"], ["time_distributed_2"], w
    if kind == "nested":
        inner = {"name": "encoder", "layers": [
            inp("encoder_input", [5]),
            {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 4,
                                               "activation": "relu", "use_bias": True}},
            {"class_name": "Dropout", "config": {"name": "dropout", "trainable": True, "dtype": "float32",
                                                 "rate": 0.5, "noise_shape": None, "seed": None}},
            {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True, "dtype": "float32", "units": 3,
                                               "activation": "tanh", "use_bias": False}}]}
        for l in inner["layers"][:1]:
            del l["inbound_nodes"], l["name"]
        ls = [inp("features", [5]),
              {"class_name": "Sequential", "name": "encoder", "config": inner,
               "inbound_nodes": [[["features", 0, 0, {}]]]},
              layer("Dense", "head", {"units": 2, "activation": "softmax", "use_bias": True}, ["encoder"])]
        w["encoder"] = [("dense/kernel:0", rand(5, 4)), ("dense/bias:0", rand(4)), ("dense_1/kernel:0", rand(4, 3))]
        w["head"] = [("head/kernel:0", rand(3, 2)), ("head/bias:0", rand(2))]
        return ls, ["features"], ["head"], w
    if kind == "wrapped_options":
        inner = {"name": "encoder", "layers": [
            {"class_name": "Dense", "config": {"name": "dense", "trainable": False, "dtype": "float32", "units": 4,
                                               "activation": "relu", "use_bias": True,
                                               "kernel_constraint": {"class_name": "NonNeg", "config": {}}}},
            {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True, "dtype": "float32", "units": 3,
                                               "activation": "linear", "use_bias": True}}]}
        ls = [inp("steps", [3, 5]),
              layer("TimeDistributed", "time_distributed",
                    {"layer": {"class_name": "Dense", "config": {
                        "name": "dense_td", "trainable": True, "dtype": "float32", "units": 5,
                        "activation": "linear", "use_bias": True,
                        "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.25}}}}}, ["steps"]),
              layer("Flatten", "flatten", {"data_format": "channels_last"}, ["time_distributed"]),
              {"class_name": "Sequential", "name": "encoder", "config": inner,
               "inbound_nodes": [[["flatten", 0, 0, {}]]]}]
        ls[1]["config"]["trainable"] = False
        w["time_distributed"] = [("time_distributed/kernel:0", rand(5, 5)), ("time_distributed/bias:0", rand(5))]
        # (The frozen kernel is non-negative already: Sluice runs constraints on frozen weights
        # too, Keras only on the ones its optimizer updates.)
        w["encoder"] = [("dense/kernel:0", np.abs(rand(15, 4))), ("dense/bias:0", rand(4)),
                        ("dense_1/kernel:0", rand(4, 3)), ("dense_1/bias:0", rand(3))]
        return ls, ["steps"], ["encoder"], w
    if kind == "nested_functional":
        bn = {"axis": [1], "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True}
        inner = {"name": "block", "layers": [
            inp("block_input", [5]),
            layer("Dense", "dense", {"units": 4, "activation": "relu", "use_bias": True}, ["block_input"]),
            layer("BatchNormalization", "batch_normalization", bn, ["dense"]),
            layer("Dense", "dense_1", {"units": 3, "activation": "tanh", "use_bias": True}, ["batch_normalization"])],
            "input_layers": [["block_input", 0, 0]], "output_layers": [["dense_1", 0, 0]]}
        ls = [inp("features", [5]),
              {"class_name": "Functional", "name": "block", "config": inner,
               "inbound_nodes": [[["features", 0, 0, {}]]]},
              layer("Dense", "head", {"units": 2, "activation": "softmax", "use_bias": True}, ["block"])]
        # Keras lists a nested model's trainable weights, then its non-trainable ones.
        w["block"] = [("dense/kernel:0", rand(5, 4)), ("dense/bias:0", rand(4)),
                      ("batch_normalization/gamma:0", 1 + rand(4)), ("batch_normalization/beta:0", rand(4)),
                      ("dense_1/kernel:0", rand(4, 3)), ("dense_1/bias:0", rand(3)),
                      ("batch_normalization/moving_mean:0", rand(4)),
                      ("batch_normalization/moving_variance:0", 1 + rand(4))]
        w["head"] = [("head/kernel:0", rand(3, 2)), ("head/bias:0", rand(2))]
        return ls, ["features"], ["head"], w
    if kind == "nested_functional_multi":
        # A nested model with three inputs and two outputs, one of them an inner LSTM's state
        # (tensor index 1), another state (index 2) feeding an inner Add.
        lstm = {"units": 4, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                "return_sequences": False, "return_state": True, "go_backwards": False, "unit_forget_bias": True}
        add = layer("Add", "add", {}, ["d1", "d_side"])
        add["inbound_nodes"][0].append(["lstm", 0, 2, {}])
        inner = {"name": "block", "layers": [
            inp("bx", [5]), inp("by", [3]), inp("bseq", [4, 3]),
            layer("LSTM", "lstm", lstm, ["bseq"]),
            layer("Dense", "d1", {"units": 4, "activation": "relu", "use_bias": True}, ["bx"]),
            layer("Dense", "d_side", {"units": 4, "activation": "linear", "use_bias": True}, ["by"]),
            add,
            layer("Dense", "d2", {"units": 3, "activation": "tanh", "use_bias": True}, ["add"])],
            "input_layers": [["bx", 0, 0], ["by", 0, 0], ["bseq", 0, 0]],
            "output_layers": [["d2", 0, 0], ["lstm", 0, 1]]}
        tail = layer("Dense", "tail", {"units": 2, "activation": "linear", "use_bias": True}, [])
        tail["inbound_nodes"] = [[["block", 0, 1, {}]]]
        ls = [inp("features", [5]), inp("side", [3]), inp("seq", [4, 3]),
              {"class_name": "Functional", "name": "block", "config": inner,
               "inbound_nodes": [[["features", 0, 0, {}], ["side", 0, 0, {}], ["seq", 0, 0, {}]]]},
              layer("Dense", "head", {"units": 2, "activation": "softmax", "use_bias": True}, ["block"]), tail]
        w["block"] = [("lstm/kernel:0", rand(3, 16)), ("lstm/recurrent_kernel:0", rand(4, 16)),
                      ("lstm/bias:0", rand(16)), ("d1/kernel:0", rand(5, 4)), ("d1/bias:0", rand(4)),
                      ("d_side/kernel:0", rand(3, 4)), ("d_side/bias:0", rand(4)),
                      ("d2/kernel:0", rand(4, 3)), ("d2/bias:0", rand(3))]
        w["head"] = [("head/kernel:0", rand(3, 2)), ("head/bias:0", rand(2))]
        w["tail"] = [("tail/kernel:0", rand(4, 2)), ("tail/bias:0", rand(2))]
        return ls, ["features", "side", "seq"], ["head", "tail"], w
    raise SystemExit("unknown kind " + kind)


def main():
    out, kind = sys.argv[1], sys.argv[2]
    ls, ins, outs, w = build(kind)
    cfg = {"class_name": "Functional", "config": {"name": kind, "layers": ls,
                                                  "input_layers": [[i, 0, 0] for i in ins],
                                                  "output_layers": [[o, 0, 0] for o in outs]}}
    with h5py.File(out, "w") as f:
        f.attrs["keras_version"] = "2.4.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(cfg)
        mw = f.create_group("model_weights")
        names = [l["config"]["name"] for l in ls]
        mw.attrs["layer_names"] = np.array([n.encode() for n in names])
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = "2.4.0"
        for n in names:
            g = mw.create_group(n)
            ws = w.get(n, [])
            g.attrs["weight_names"] = np.array([a.encode() for a, _ in ws]) if ws else np.zeros(0)
            for a, v in ws:
                g.create_dataset(a, data=v)


if __name__ == "__main__":
    main()
