#!/usr/bin/env python3
"""Golden values for galml's attention/transformer/token/cosine layers from PyTorch 1.13 in float64.

Writes tests/data/golden/attention/<case>.json, read by tests/layers/test_layers_parity_attention.cpp.
Same format as make_layer_golden.py (arrays flat, row-major): N, in_shape, x, params [{name, shape,
data}] in named_parameters() order, mode, y, dy, dx, grads [{name, data}]; joins (two inputs) also
hold in_shape2, x2 and dx2.

Reference implementations:
  * MultiHeadSelfAttention: torch.nn.MultiheadAttention(batch_first=True), attn(x, x, x)
  * TransformerEncoderLayer: torch.nn.TransformerEncoderLayer(batch_first=True, norm_first=...)
  * L2Normalize: F.normalize(x, dim=-1)
  * CosineHead, HadamardGatedAttention, Keras MultiHeadAttention, ClsToken/PositionalEmbedding:
    written by hand below (Keras weight shapes for the Keras attention)
  * PatchEmbed1D: nn.Conv1d(C, Dim, P, stride=P) + transpose
Parameters are perturbed (N(0, 0.3²) added) so zero biases / unit norm scales are exercised.
Run: /usr/bin/python3 tests/golden/make_layer_golden_attention.py   (from the repository root)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden", "attention")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240701)
torch.manual_seed(4321)


def flat(t):
    return [float(v) for v in np.asarray(t.detach() if torch.is_tensor(t) else t, dtype=np.float64).ravel()]


class SelfAttn(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, h, batch_first=True)

    def named_parameters(self, *a, **k):  # galml names are relative to the attention module
        return self.attn.named_parameters(*a, **k)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class L2N(nn.Module):
    def forward(self, x):
        return F.normalize(x, dim=-1)


class Cosine(nn.Module):
    def __init__(self, d, c, s=30.0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c, d).uniform_(-1 / math.sqrt(d), 1 / math.sqrt(d)))
        self.scale = nn.Parameter(torch.tensor([s]))

    def forward(self, x):
        return self.scale * F.normalize(x, dim=-1) @ F.normalize(self.weight, dim=-1).t()


class Gated(nn.Module):
    """Spec §4.2: Y_h = sigmoid(Q_h * K_h) * V_h (hadamard) or sigmoid(Q_h K_h^T / sqrt(d_h)) V_h."""

    def __init__(self, d, h, variant):
        super().__init__()
        self.d, self.h, self.variant = d, h, variant
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d).uniform_(-0.5, 0.5))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).split(d, dim=-1)
        if self.variant == "hadamard":
            y = torch.sigmoid(q * k) * v
        else:
            dh = d // self.h
            sh = lambda z: z.reshape(n, t, self.h, dh).transpose(1, 2)  # noqa: E731
            s = torch.sigmoid(sh(q) @ sh(k).transpose(-1, -2) / math.sqrt(dh))
            y = (s @ sh(v)).transpose(1, 2).reshape(n, t, d)
        return self.out_proj(y)


class KerasDense(nn.Module):
    def __init__(self, kshape, bshape):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(*kshape).uniform_(-0.5, 0.5))
        self.bias = nn.Parameter(torch.zeros(*bshape))


class KerasMHA(nn.Module):
    """keras.layers.MultiHeadAttention(num_heads, key_dim, value_dim)(query, value) with Keras kernels."""

    def __init__(self, dq, dv, h, kd, vd):
        super().__init__()
        self.kd = kd
        self.query = KerasDense((dq, h, kd), (h, kd))
        self.key = KerasDense((dv, h, kd), (h, kd))
        self.value = KerasDense((dv, h, vd), (h, vd))
        self.attention_output = KerasDense((h, vd, dq), (dq,))

    def forward(self, xq, xv=None):
        xv = xq if xv is None else xv
        q = torch.einsum("btd,dhk->bthk", xq, self.query.kernel) + self.query.bias
        k = torch.einsum("btd,dhk->bthk", xv, self.key.kernel) + self.key.bias
        v = torch.einsum("btd,dhk->bthk", xv, self.value.kernel) + self.value.bias
        p = torch.softmax(torch.einsum("bqhk,bvhk->bhqv", q, k) / math.sqrt(self.kd), dim=-1)
        o = torch.einsum("bhqv,bvhd->bqhd", p, v)
        return torch.einsum("bqhd,hdo->bqo", o, self.attention_output.kernel) + self.attention_output.bias


class Cls(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, 1, d) * 0.02)

    def forward(self, x):
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)


class Pos(nn.Module):
    def __init__(self, t, d):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.randn(1, t, d) * 0.02)

    def forward(self, x):
        return x + self.pos_embedding


class Patch(nn.Module):
    def __init__(self, c, dim, p):
        super().__init__()
        self.conv = nn.Conv1d(c, dim, p, stride=p)

    def named_parameters(self, *a, **k):
        return self.conv.named_parameters(*a, **k)

    def forward(self, x):
        return self.conv(x).transpose(1, 2)


def case(name, module, in_shape, N=2, mode="eval", in_shape2=None):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.tensor(0.3 * rng.standard_normal(tuple(p.shape))))
    module.train(mode == "train")
    params = [{"name": n, "shape": list(p.shape), "data": flat(p)} for n, p in module.named_parameters()]
    x = torch.tensor(rng.standard_normal((N, *in_shape)) * 1.2, requires_grad=True)
    xs = [x]
    if in_shape2 is not None:
        xs.append(torch.tensor(rng.standard_normal((N, *in_shape2)), requires_grad=True))
    module.zero_grad()
    y = module(*xs)
    dy = torch.tensor(rng.standard_normal(tuple(y.shape)))
    y.backward(dy)
    d = {"name": name, "N": N, "in_shape": list(in_shape), "mode": mode, "params": params, "x": flat(x), "y": flat(y), "dy": flat(dy),
         "dx": flat(x.grad), "grads": [{"name": n, "data": flat(p.grad)} for n, p in module.named_parameters()]}
    if in_shape2 is not None:
        d.update({"in_shape2": list(in_shape2), "x2": flat(xs[1]), "dx2": flat(xs[1].grad)})
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(d, f)
    print(f"{name}: in {in_shape}{'' if in_shape2 is None else ' + ' + str(in_shape2)} x{N}, {sum(p.numel() for p in module.parameters())} params")


def encoder(d, h, ff, norm_first, act):
    return nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, activation=act, batch_first=True, norm_first=norm_first)


case("mhsa_h2", SelfAttn(8, 2), (5, 8))
case("mhsa_h4", SelfAttn(8, 4), (3, 8), N=3)
case("transformer_preln_gelu", encoder(8, 2, 12, True, "gelu"), (4, 8))
case("transformer_preln_relu", encoder(8, 2, 12, True, "relu"), (4, 8))
case("transformer_postln_relu", encoder(8, 2, 12, False, "relu"), (4, 8))
case("transformer_postln_gelu", encoder(8, 2, 12, False, "gelu"), (4, 8))
case("l2norm_vec", L2N(), (7,), N=3)
case("l2norm_rows", L2N(), (3, 5))
case("cosine_head", Cosine(9, 4), (9,), N=3)
case("gated_hadamard", Gated(8, 2, "hadamard"), (5, 8))
case("gated_sigmoid_qk", Gated(8, 2, "sigmoid_qk"), (5, 8))
case("keras_mha_join", KerasMHA(5, 6, 2, 3, 4), (3, 5), in_shape2=(4, 6))
case("keras_mha_self", KerasMHA(5, 5, 2, 3, 3), (4, 5))
case("patch_embed", Patch(2, 5, 3), (2, 14))
case("cls_pos", nn.Sequential(Cls(4), Pos(4, 4)), (3, 4))
