#!/usr/bin/env python3
"""Golden values for include/galml/data/image_transforms.hpp, computed with numpy only.

The formulas are written here in numpy's vectorised form, independently of the C++ loops:
  nearest (floor rule):        src = (dst * in) // out            (torch 'nearest')
  nearest (pixel-centre rule): src = floor((dst + 0.5) * in / out) (PIL NEAREST, torch 'nearest-exact')
  bilinear: torch F.interpolate(mode='bilinear', align_corners=False, antialias=False)
  centre crop: a[:, (H-h)//2:(H-h)//2+h, (W-w)//2:(W-w)//2+w]
  z-score: (x - x.mean(axis=(1,2))) / max(x.std(axis=(1,2)), 1e-6)   (population std)
Run: /usr/bin/python3 tests/data/make_image_golden.py  (writes tests/data/golden/images/transforms.json)
"""
import json
import os

import numpy as np


def nearest(a, h, w, centre):
    C, H, W = a.shape
    if centre:
        ys = np.floor((np.arange(h) + 0.5) * H / h).astype(int)
        xs = np.floor((np.arange(w) + 0.5) * W / w).astype(int)
    else:
        ys = (np.arange(h) * H) // h
        xs = (np.arange(w) * W) // w
    ys = np.minimum(ys, H - 1)
    xs = np.minimum(xs, W - 1)
    return a[:, ys][:, :, xs]


def axis_weights(n_in, n_out):
    s = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    s = np.maximum(s, 0.0)
    i0 = np.minimum(np.floor(s).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    l1 = s - i0
    # interpolation matrix M (n_out x n_in) so that out = M @ in
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), i0] += 1 - l1
    m[np.arange(n_out), i1] += l1
    return m


def bilinear(a, h, w):
    my = axis_weights(a.shape[1], h)
    mx = axis_weights(a.shape[2], w)
    return np.einsum("yi,cij,xj->cyx", my, a.astype(np.float64), mx)


def crop(a, h, w):
    C, H, W = a.shape
    t, l = (H - h) // 2, (W - w) // 2
    return a[:, t:t + h, l:l + w]


def zscore(a):
    a = a.astype(np.float64)
    m = a.mean(axis=(1, 2), keepdims=True)
    s = np.maximum(a.std(axis=(1, 2), keepdims=True), 1e-6)
    return (a - m) / s


def main():
    rng = np.random.default_rng(20240521)
    # 8-bit-like integer values: exactly representable in float32 on both sides.
    img = rng.integers(0, 256, size=(2, 5, 7)).astype(np.float64)
    cases = []
    for (h, w) in [(3, 4), (8, 11), (5, 7), (2, 3), (10, 14), (1, 1)]:
        cases.append({"op": "nearest_floor", "h": h, "w": w, "out": nearest(img, h, w, False).ravel().tolist()})
        cases.append({"op": "nearest_centre", "h": h, "w": w, "out": nearest(img, h, w, True).ravel().tolist()})
        cases.append({"op": "bilinear", "h": h, "w": w, "out": bilinear(img, h, w).ravel().tolist()})
    for (h, w) in [(3, 4), (4, 4), (5, 7), (1, 2)]:
        cases.append({"op": "crop", "h": h, "w": w, "out": crop(img, h, w).ravel().tolist()})
    cases.append({"op": "zscore", "h": 5, "w": 7, "out": zscore(img).ravel().tolist()})
    cases.append({"op": "div255", "h": 5, "w": 7, "out": (img / 255.0).ravel().tolist()})
    out = {"generator": "tests/data/make_image_golden.py (numpy " + np.__version__ + ")",
           "input_shape": list(img.shape), "input": img.ravel().tolist(), "cases": cases}
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "images")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "transforms.json"), "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
