#!/usr/bin/python3
"""Exports the real models tests/test_onnx_models.cc imports: torchvision's resnet18,
mobilenet_v2 and squeezenet1_1 (random initialisation, fixed seed: nothing is downloaded),
an LSTM classifier and a small transformer encoder, each to ONNX (opset 13, dynamic batch)
with PyTorch's output for a fixed input of batch 2.

    /usr/bin/python3 tests/onnx_models/export_models.py OUT_DIR

writes OUT_DIR/<model>.onnx, <model>.input.npy and <model>.output.npy, and OUT_DIR/STATUS
("ok", or why nothing was exported, e.g. torch is not installed). Uses Debian's
python3-torch and python3-torchvision; exits 0 without torch, so the test can skip.
A stamp (this file's hash and torch's version) skips the work when nothing changed.
"""
import hashlib
import os
import sys


def calibrate_batch_norm(model, shape):
    """Random initialisation leaves BatchNorm's running statistics at mean 0 / variance 1, so
    in eval mode activations are not normalised and (in mobilenet_v2) shrink to ~1e-9 by the
    logits: a comparison at atol 1e-4 would then prove nothing. Estimate the statistics
    from a few random batches, as training would, so every layer sees unit-scale values."""
    import torch
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, *shape[1:]))


def model_list(torch, torchvision):
    """(name, constructor, example input shape) of every exported model; bench/onnx_torch.py
    times the same architectures in PyTorch eager mode."""
    class LstmClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(16, 32, batch_first=True)
            self.head = torch.nn.Linear(32, 5)

        def forward(self, x):  # x [B, T, 16] -> [B, 5] from the last hidden state
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])

    class TransformerClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.0,
                                                     batch_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
            self.head = torch.nn.Linear(32, 3)

        def forward(self, x):  # x [B, T, 32] -> [B, 3] from the mean over time
            return self.head(self.encoder(x).mean(dim=1))

    models = [
        ("resnet18", lambda: torchvision.models.resnet18(weights=None), (2, 3, 224, 224)),
        ("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(weights=None), (2, 3, 224, 224)),
        ("squeezenet1_1", lambda: torchvision.models.squeezenet1_1(weights=None), (2, 3, 224, 224)),
        ("lstm_classifier", LstmClassifier, (2, 10, 16)),
        ("transformer_encoder", TransformerClassifier, (2, 8, 32)),
    ]
    return models


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    status = os.path.join(out, "STATUS")
    try:
        import numpy as np
        import torch
        import torchvision
    except ImportError as e:  # the test reads STATUS and skips with this message
        with open(status, "w") as f:
            f.write("torch is absent (%s): install python3-torch and python3-torchvision\n" % e)
        print("export_models: %s" % e)
        return 0

    with open(__file__, "rb") as f:
        stamp = hashlib.sha256(f.read() + torch.__version__.encode()).hexdigest()
    stamp_path = os.path.join(out, "STAMP")
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp and open(status).read().startswith("ok"):
        print("export_models: up to date")
        return 0

    torch.set_num_threads(2)

    models = model_list(torch, torchvision)
    for seed, (name, make, shape) in enumerate(models):
        torch.manual_seed(seed)
        model = make()
        calibrate_batch_norm(model, shape)
        model.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = model(x)
        # Traced with gradients enabled: under no_grad the transformer layers take a fused
        # fast path (aten::_transformer_encoder_layer_fwd) that has no ONNX form.
        torch.onnx.export(model, x, os.path.join(out, name + ".onnx"), opset_version=13,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          do_constant_folding=True)
        np.save(os.path.join(out, name + ".input.npy"), x.numpy())
        np.save(os.path.join(out, name + ".output.npy"), y.numpy())
        print("export_models: %s %s -> %s" % (name, list(shape), list(y.shape)))
    with open(status, "w") as f:
        f.write("ok torch %s torchvision %s\n" % (torch.__version__, torchvision.__version__))
    with open(stamp_path, "w") as f:
        f.write(stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
