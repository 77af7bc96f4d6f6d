#!/usr/bin/python3
"""Checks a Keras HDF5 file written by Sluice with h5py: the layout and attribute types
tf.keras 2.4+ writes (root keras_version/backend as variable-length UTF-8 strings,
model_config/training_config as variable-length ASCII, model_weights' layer_names and each
layer's weight_names as fixed-length NUL-padded byte strings or an empty float64 array,
float32 datasets at model_weights/<layer>/<weight name>).

    check_keras_h5.py WRITTEN.h5 [ORIGINAL.h5]

With ORIGINAL (a file Keras wrote), the config, layer names, weight names, shapes and values
must equal the original's. Prints what is wrong and exits 1, else exits 0.
"""
import json
import sys

import h5py
import numpy as np

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def vlen(obj, name, cset):
    t = obj.attrs.get_id(name).get_type()
    check(isinstance(t, h5py.h5t.TypeStringID) and t.is_variable_str(), "%s.%s: not a vlen string" % (obj.name, name))
    if isinstance(t, h5py.h5t.TypeStringID):
        check(t.get_cset() == cset, "%s.%s: cset %d, want %d" % (obj.name, name, t.get_cset(), cset))
    check(obj.attrs.get_id(name).get_space().get_simple_extent_type() == h5py.h5s.SCALAR,
          "%s.%s: not scalar" % (obj.name, name))


def names(obj, name):
    a = obj.attrs.get_id(name)
    t = a.get_type()
    v = obj.attrs[name]
    if isinstance(t, h5py.h5t.TypeStringID):
        check(not t.is_variable_str() and t.get_strpad() == h5py.h5t.STR_NULLPAD,
              "%s.%s: not fixed-length NUL-padded" % (obj.name, name))
        return [x.decode() for x in v]
    check(len(v) == 0 and v.dtype == np.float64, "%s.%s: a non-string non-empty attribute" % (obj.name, name))
    return []


def dec(x):
    return x.decode() if isinstance(x, bytes) else x


path = sys.argv[1]
f = h5py.File(path, "r")
vlen(f, "keras_version", h5py.h5t.CSET_UTF8)
vlen(f, "backend", h5py.h5t.CSET_UTF8)
vlen(f, "model_config", h5py.h5t.CSET_ASCII)
if "training_config" in f.attrs:
    vlen(f, "training_config", h5py.h5t.CSET_ASCII)
    tc = json.loads(f.attrs["training_config"])
    check("loss" in tc and "optimizer_config" in tc, "training_config lacks loss/optimizer_config")
cfg = json.loads(f.attrs["model_config"])
check(cfg.get("class_name") in ("Sequential", "Model", "Functional"), "model_config class_name")
mw = f["model_weights"]
vlen(mw, "backend", h5py.h5t.CSET_ASCII)
vlen(mw, "keras_version", h5py.h5t.CSET_ASCII)
layer_names = names(mw, "layer_names")
layers = cfg["config"] if isinstance(cfg["config"], list) else cfg["config"]["layers"]
check(layer_names == [l["config"]["name"] for l in layers], "layer_names differ from the config's layers")
count = 0
for ln in layer_names:
    g = mw[ln]
    for wn in names(g, "weight_names"):
        d = g[wn]
        check(d.dtype == np.float32, "%s: dtype %s" % (d.name, d.dtype))
        check(d.chunks is None and d.compression is None, "%s: not contiguous" % d.name)
        count += 1
check(count > 0, "no weights at all")

# optimizer_weights (a compiled model): "<Opt>/iter:0" (int64 scalar) first, then each slot
# kind for every trainable weight, "<Opt>/<weight>/<slot>:0", shaped as the weight.
if "optimizer_weights" in f:
    ow = f["optimizer_weights"]
    on = names(ow, "weight_names")
    check(len(on) > 0 and on[0].endswith("/iter:0"), "optimizer_weights: iter:0 is not first")
    if on:
        it = ow[on[0]]
        check(it.dtype == np.int64 and it.shape == (), "optimizer_weights: iter is not an int64 scalar")
    kinds = []
    for n in on[1:]:
        opt, rest = n.split("/", 1)
        weight, slot = rest.rsplit("/", 1)
        layer = weight.split("/")[0]
        check(ow[n].dtype == np.float32, "%s: dtype %s" % (n, ow[n].dtype))
        w = mw[layer][weight + ":0"] if weight + ":0" in mw[layer] else None
        check(w is not None and w.shape == ow[n].shape, "%s: no weight of that shape" % n)
        if not kinds or kinds[-1] != slot:
            kinds.append(slot)
    check(len(kinds) == len(set(kinds)), "optimizer_weights: slot kinds interleaved %s" % kinds)

if len(sys.argv) > 2:
    o = h5py.File(sys.argv[2], "r")
    check(json.loads(o.attrs["model_config"]) == cfg, "model_config differs from the original")
    check(dec(o.attrs["keras_version"]) == dec(f.attrs["keras_version"]), "keras_version differs")
    om = o["model_weights"]
    check([dec(x) for x in om.attrs["layer_names"]] == layer_names, "layer_names differ from the original")
    for ln in layer_names:
        ow = [dec(x) for x in om[ln].attrs["weight_names"]]
        nw = names(mw[ln], "weight_names")
        check(ow == nw, "%s: weight_names %s, original %s" % (ln, nw, ow))
        for a, b in zip(ow, nw):
            if a == b:
                check(np.array_equal(np.array(om[ln][a]), np.array(mw[ln][b])), "%s/%s: values differ" % (ln, a))

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
