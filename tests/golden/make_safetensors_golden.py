#!/usr/bin/env python3
"""Golden files for tests/io/test_safetensors.cpp: the MTLforGalSpecZ network (spec section 1.2) in
PyTorch 1.13, float32, with a SHORT input (1 x 1500 instead of 1 x 5161) so the files stay small.
The network is length-agnostic up to the final shapes; stage lengths with L = 1500:
  1500 -conv-> 1498 -conv-> 1496 -pool-> 498 -> 496 -> 494 -> 164 -> 162 -> 160 -> 53
  -> 51 -> 49 -> 16 -> 14 -> 12 -> 4   (every stage >= 3; 256 x 4 before the SE block and GAP)

Writes to tests/data/golden/safetensors/:
  mtl_weights.safetensors   state_dict() in PyTorch names, F32, in state_dict order
  mtl_io.safetensors        "input" [4, 1, 1500] F32 (seeded), "cls" [4, 4] and "z" [4, 1] eval-mode
                            outputs (F64 copies of the float32 results)
The `safetensors` package is not installed, so a small writer is included (format: u64 LE header
length, JSON header {name: {dtype, shape, data_offsets}}, raw little-endian data).

Run: /usr/bin/python3 tests/golden/make_safetensors_golden.py   (from the repository root)
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden", "safetensors")
os.makedirs(OUT, exist_ok=True)
L = 1500


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, numpy array) written in this order."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        dtype = {np.dtype("float32"): "F32", np.dtype("float64"): "F64"}[a.dtype]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class SE(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.fc1 = nn.Conv1d(c, h, 1)
        self.fc2 = nn.Conv1d(h, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=2, keepdim=True)))))


def head(n_out):
    return nn.Sequential(nn.Dropout(0.5), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, n_out))


class MTLforGalSpecZ(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 1
        for c in (16, 32, 64, 128, 256):
            layers += [nn.Conv1d(cin, c, 3), nn.ReLU(), nn.Conv1d(c, c, 3), nn.ReLU(), nn.MaxPool1d(3)]
            cin = c
        self.features = nn.Sequential(*layers)  # indices 0..24, as the galml trunk
        self.se = SE(256, 16)                   # galml trunk layer 25
        self.cls_head = head(4)
        self.reg_head = head(1)

    def forward(self, x):
        g = self.se(self.features(x)).mean(dim=2)  # global average pool
        return self.cls_head(g), self.reg_head(g)


torch.manual_seed(20240613)
model = MTLforGalSpecZ().eval()
# PyTorch's default init shrinks activations ~2.4x per ReLU layer; rescale the weights to He-like
# variance so the outputs differ clearly between samples and a wrong weight would show.
with torch.no_grad():
    for n, p in model.named_parameters():
        if n.endswith("weight"):
            p.mul_(2.4)
print("parameters:", sum(p.numel() for p in model.parameters()))
x = torch.tensor(np.random.default_rng(7).standard_normal((4, 1, L)).astype(np.float32) * 0.5 + 1.0)
with torch.no_grad():
    cls, z = model(x)
    print("feature shape before SE:", tuple(model.features(x).shape))
write_safetensors(os.path.join(OUT, "mtl_weights.safetensors"),
                  [(k, v.numpy()) for k, v in model.state_dict().items()], {"format": "pt"})
write_safetensors(os.path.join(OUT, "mtl_io.safetensors"),
                  [("input", x.numpy()), ("cls", cls.numpy().astype(np.float64)), ("z", z.numpy().astype(np.float64))])
print("cls", cls.numpy()[0], "z", z.numpy()[:, 0])
