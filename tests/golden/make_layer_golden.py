#!/usr/bin/env python3
"""Golden values for galml layers from PyTorch 1.13 in float64.

Writes one file per case to tests/data/golden/layers/<case>.json, read by
tests/layers/test_layers_parity.cpp. Each case holds (arrays flat, row-major):
  N, in_shape         batch size and per-sample input shape
  x                   input [N, *in_shape]
  params              [{name, shape, data}] in PyTorch's named_parameters() order and layout
  mode                "train" or "eval" for the forward/backward below
  y                   output
  dy                  the fixed upstream gradient (dL/dy) used for backward
  dx, grads           input gradient and parameter gradients [{name, data}]
BatchNorm cases also hold buffers_after (running stats after the one train step) and an "eval"
block {x, y, dy, dx, grads} computed with those running statistics.

Parameters are PyTorch's default initialisation, then perturbed so norm scales/shifts are not 1/0.
Run: /usr/bin/python3 tests/golden/make_layer_golden.py   (from the repository root)
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden", "layers")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240612)
torch.manual_seed(1234)


def flat(t):
    return [float(v) for v in np.asarray(t.detach() if torch.is_tensor(t) else t, dtype=np.float64).ravel()]


class SE(nn.Module):
    """MTLforGalSpecZ squeeze-and-excitation: GAP, Conv1d(C,H,1), ReLU, Conv1d(H,C,1), Sigmoid, multiply."""

    def __init__(self, c, h):
        super().__init__()
        self.fc1 = nn.Conv1d(c, h, 1)
        self.fc2 = nn.Conv1d(h, c, 1)

    def forward(self, x):
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=2, keepdim=True)))))
        return x * s


class GAP(nn.Module):
    def forward(self, x):
        return nn.functional.adaptive_avg_pool1d(x, 1).flatten(1)


def run(module, x_np, mode):
    module.train(mode == "train")
    x = torch.tensor(x_np, requires_grad=True)
    module.zero_grad()
    y = module(x)
    dy = torch.tensor(rng.standard_normal(tuple(y.shape)))
    y.backward(dy)
    return {"x": flat(x), "y": flat(y), "dy": flat(dy), "dx": flat(x.grad),
            "grads": [{"name": n, "data": flat(p.grad)} for n, p in module.named_parameters()]}


def case(name, module, in_shape, N=2, mode="eval", perturb=False, offset=0.0, eval_after=False):
    if perturb:
        with torch.no_grad():
            for p in module.parameters():
                p.add_(torch.tensor(0.3 * rng.standard_normal(tuple(p.shape))))
    params = [{"name": n, "shape": list(p.shape), "data": flat(p)} for n, p in module.named_parameters()]
    x = rng.standard_normal((N, *in_shape)) * 1.5 + offset
    d = {"name": name, "N": N, "in_shape": list(in_shape), "mode": mode, "params": params}
    d.update(run(module, x, mode))
    if eval_after:
        d["buffers_after"] = [{"name": n, "data": flat(b)} for n, b in module.named_buffers() if n != "num_batches_tracked"]
        d["eval"] = run(module, rng.standard_normal((N, *in_shape)) + 0.5, "eval")
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(d, f)
    print(f"{name}: in {in_shape} x{N}, {sum(p.numel() for p in module.parameters())} params")


case("conv1d_valid", nn.Conv1d(2, 3, 3), (2, 11))
case("conv1d_same", nn.Conv1d(2, 4, 3, padding=1), (2, 10))
case("conv1d_strided", nn.Conv1d(3, 4, 5, stride=2, padding=2), (3, 13))
case("conv1d_k1_nobias", nn.Conv1d(3, 5, 1, bias=False), (3, 7))
case("dense", nn.Linear(5, 3), (5,), N=3)
case("relu", nn.ReLU(), (3, 7))
case("gelu", nn.GELU(), (3, 7))
case("sigmoid", nn.Sigmoid(), (3, 7))
case("tanh", nn.Tanh(), (3, 7))
case("maxpool_k3", nn.MaxPool1d(3), (2, 14))
case("maxpool_k3_s2", nn.MaxPool1d(3, 2), (2, 14))
case("avgpool_k3", nn.AvgPool1d(3), (2, 14))
case("avgpool_k3_s2", nn.AvgPool1d(3, 2), (2, 14))
case("adaptive_10_4", nn.AdaptiveAvgPool1d(4), (2, 10))
case("adaptive_961_16", nn.AdaptiveAvgPool1d(16), (1, 961))
case("adaptive_48_16", nn.AdaptiveAvgPool1d(16), (2, 48))
case("gap", GAP(), (3, 10))
case("se_attention", SE(6, 3), (6, 5))
case("batchnorm_cl", nn.BatchNorm1d(3), (3, 7), N=4, mode="train", perturb=True, offset=0.7, eval_after=True)
case("batchnorm_c", nn.BatchNorm1d(4), (4,), N=5, mode="train", perturb=True, offset=-0.4, eval_after=True)
case("layernorm", nn.LayerNorm(6), (4, 6), perturb=True)
case("layernorm_eps1e-3", nn.LayerNorm(9, eps=1e-3), (9,), N=3, perturb=True)
case("softmax", nn.Softmax(dim=-1), (3, 6))
case("logsoftmax", nn.LogSoftmax(dim=-1), (3, 6))
