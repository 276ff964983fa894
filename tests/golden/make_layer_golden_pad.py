#!/usr/bin/env python3
"""Golden values for padded max pooling and per-sample min-max from PyTorch 1.13 in float64.

Writes tests/data/golden/pad/<case>.json (same format as make_layer_golden.py: N, in_shape, x,
params (none), mode, y, dy, dx, grads), read by tests/layers/test_layers_pool_padding.cpp and
tests/layers/test_layers_minmax.cpp.

  maxpool_pad_*    torch.nn.MaxPool1d(k, s, padding)              -> galml MaxPool1D<K, S, Pad>
  maxpool_same_*   TensorFlow "SAME" written in torch: F.pad with -inf, pad_total = max((out-1)*s + k - L, 0),
                   left = pad_total // 2, right = the rest, then max_pool1d(k, s)  -> MaxPool1DSame<K, S>
  minmax_*         (x - x.min()) / (x.max() - x.min()) per sample over all features -> MinMaxNormalize
                   (continuous random inputs: no ties, so torch's tie rule does not matter)

Run: /usr/bin/python3 tests/golden/make_layer_golden_pad.py   (from the repository root)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden", "pad")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240917)


def flat(t):
    return [float(v) for v in np.asarray(t.detach() if torch.is_tensor(t) else t, dtype=np.float64).ravel()]


class TFSamePool(nn.Module):
    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        L = x.shape[-1]
        out = math.ceil(L / self.s)
        total = max((out - 1) * self.s + self.k - L, 0)
        left = total // 2
        y = F.max_pool1d(F.pad(x, (left, total - left), value=-math.inf), self.k, self.s)
        assert y.shape[-1] == out
        return y


class MinMax(nn.Module):
    def forward(self, x):
        f = x.flatten(1)
        lo = f.min(dim=1, keepdim=True).values
        hi = f.max(dim=1, keepdim=True).values
        return ((f - lo) / (hi - lo)).reshape(x.shape)


def case(name, module, in_shape, N=2, scale=1.5):
    x = torch.tensor(rng.standard_normal((N, *in_shape)) * scale, requires_grad=True)
    y = module(x)
    dy = torch.tensor(rng.standard_normal(tuple(y.shape)))
    y.backward(dy)
    d = {"name": name, "N": N, "in_shape": list(in_shape), "mode": "eval", "params": [],
         "x": flat(x), "y": flat(y), "dy": flat(dy), "dx": flat(x.grad), "grads": [],
         "out_shape": list(y.shape[1:])}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(d, f)
    print(f"{name}: in {list(in_shape)} -> out {list(y.shape[1:])} x{N}")


# PyTorch padding (symmetric, floor mode).
case("maxpool_pad_k3_s2_p1", nn.MaxPool1d(3, 2, padding=1), (2, 14))   # ResNet stem pool
case("maxpool_pad_k3_s2_p1_odd", nn.MaxPool1d(3, 2, padding=1), (3, 13))
case("maxpool_pad_k5_s1_p2", nn.MaxPool1d(5, 1, padding=2), (2, 11))   # GaSNet block pool
case("maxpool_pad_k4_s3_p2", nn.MaxPool1d(4, 3, padding=2), (2, 10))
case("maxpool_pad_k2_s1_p1", nn.MaxPool1d(2, 1, padding=1), (1, 7))
# TensorFlow "SAME" (asymmetric when pad_total is odd).
case("maxpool_same_k5_s1", TFSamePool(5, 1), (2, 11))
case("maxpool_same_k4_s1", TFSamePool(4, 1), (2, 9))     # pad 1 left, 2 right
case("maxpool_same_k3_s2", TFSamePool(3, 2), (2, 10))    # pad 0 left, 1 right
case("maxpool_same_k2_s3", TFSamePool(2, 3), (2, 10))    # out 4, pad 0 left, 1 right (k < s)
case("maxpool_same_k6_s4", TFSamePool(6, 4), (2, 13))    # pad 1 left, 2 right
# Per-sample min-max over all features.
case("minmax_vec", MinMax(), (17,), N=3)
case("minmax_2d", MinMax(), (3, 8), N=2)
