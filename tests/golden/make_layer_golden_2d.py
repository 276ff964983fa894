#!/usr/bin/env python3
"""Golden values for galml's 2-D layers from PyTorch 1.13 in float64.

Writes one file per case to tests/data/golden/layers2d/<case>.json, read by
tests/layers/test_layers_parity_2d.cpp. Same format as make_layer_golden.py (arrays flat, row-major):
  N, in_shape         batch size and per-sample input shape (channels-first C, H, W)
  x                   input [N, *in_shape]
  params              [{name, shape, data}] in PyTorch's named_parameters() order and layout
  mode                "train" or "eval" for the forward/backward below
  y, dy               output and the fixed upstream gradient used for backward
  dx, grads           input gradient and parameter gradients [{name, data}]
BatchNorm cases also hold buffers_after (running stats after the one train step) and an "eval"
block {x, y, dy, dx, grads} computed with those running statistics.

Run: /usr/bin/python3 tests/golden/make_layer_golden_2d.py   (from the repository root)
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden", "layers2d")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240613)
torch.manual_seed(4321)


def flat(t):
    return [float(v) for v in np.asarray(t.detach() if torch.is_tensor(t) else t, dtype=np.float64).ravel()]


class GAP2d(nn.Module):
    def forward(self, x):
        return nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)


class FlattenCL(nn.Module):
    """What Keras' Flatten does on a channels-last tensor, seen from a channels-first one."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


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


# Conv2d: Keras "valid" (M2), "same" (M3, GCSNet), strided with and without padding, 1x1 without bias.
case("conv2d_valid", nn.Conv2d(2, 3, 3), (2, 7, 8))
case("conv2d_same", nn.Conv2d(3, 4, 3, padding="same"), (3, 6, 5))
case("conv2d_same_k5", nn.Conv2d(2, 3, 5, padding="same"), (2, 6, 7))
case("conv2d_strided", nn.Conv2d(3, 4, 3, stride=2, padding=1), (3, 9, 10))
case("conv2d_strided_valid", nn.Conv2d(2, 3, 4, stride=3), (2, 11, 13))
case("conv2d_k1_nobias", nn.Conv2d(3, 5, 1, bias=False), (3, 4, 5))
# Pooling (floor mode: odd sizes drop the last row/column).
case("maxpool2d_k2", nn.MaxPool2d(2), (2, 7, 9))
case("maxpool2d_k3_s2", nn.MaxPool2d(3, 2), (2, 9, 8))
case("avgpool2d_k2", nn.AvgPool2d(2), (2, 7, 9))
case("avgpool2d_k3_s2", nn.AvgPool2d(3, 2), (2, 9, 8))
case("adaptive2d_75_4", nn.AdaptiveAvgPool2d(4), (1, 75, 75))
case("adaptive2d_10_4", nn.AdaptiveAvgPool2d(4), (3, 10, 10))
case("adaptive2d_10x7_4x3", nn.AdaptiveAvgPool2d((4, 3)), (2, 10, 7))
case("gap2d", GAP2d(), (3, 5, 6))
# BatchNorm2d: one train step (batch statistics, running-stat update), then eval with the running stats.
case("batchnorm2d", nn.BatchNorm2d(3), (3, 5, 4), N=4, mode="train", perturb=True, offset=0.7, eval_after=True)
case("batchnorm2d_eps1e-3_m0.01", nn.BatchNorm2d(2, eps=1e-3, momentum=0.01), (2, 3, 3), N=3, mode="train", perturb=True,
     offset=-0.4, eval_after=True)
# Keras channels-last flatten.
case("flatten_cl", FlattenCL(), (3, 4, 5))
