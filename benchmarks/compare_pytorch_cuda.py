#!/usr/bin/env python3
"""MTLforGalSpecZ on the GPU with PyTorch, to compare with benchmarks/bench_cuda_mtlforgalspecz.

Same network (484,581 parameters), losses (focal α=0.25 γ=2 on the class head, masked MAE ÷N on the
z head), Adam lr 1e-3. Training step at batch 128: eager FP32, eager TF32, whole step captured as a CUDA
graph (FP32, TF32, BF16 autocast), torch.compile(mode="reduce-overhead") if it works within the time
limit. Inference at batch 1024: eager FP32, CUDA graph FP32 / TF32, BF16 autocast graph. Prints
samples/s (median of 5 timed runs, CUDA events) and, with --galml FILE (the benchmark's output), ratios.

    python3 benchmarks/compare_pytorch_cuda.py [--steps 60] [--no-compile] [--galml galml.txt]
"""
import argparse
import re
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PIX = 5161


class SE(nn.Module):
    def __init__(self, c, r=16):
        super().__init__()
        self.fc1 = nn.Linear(c, c // r)
        self.fc2 = nn.Linear(c // r, c)

    def forward(self, x):
        s = x.mean(dim=2)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s.unsqueeze(2)


class MTL(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 1
        for c in (16, 32, 64, 128, 256):
            layers += [nn.Conv1d(cin, c, 3), nn.ReLU(), nn.Conv1d(c, c, 3), nn.ReLU(), nn.MaxPool1d(3)]
            cin = c
        self.backbone = nn.Sequential(*layers)
        self.se = SE(256)

        def head(out):
            return nn.Sequential(nn.Dropout(0.5), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, out))

        self.cls = head(4)
        self.z = head(1)

    def forward(self, x):
        h = self.se(self.backbone(x)).mean(dim=2)
        return self.cls(h), self.z(h)


def focal(logits, y, alpha=0.25, gamma=2.0):
    lp = F.log_softmax(logits.float(), dim=1).gather(1, y[:, None]).squeeze(1)
    p = lp.exp()
    return (-alpha * (1 - p) ** gamma * lp).mean()


def masked_mae(pred, t, m):
    return ((pred.float().squeeze(1) - t).abs() * m).sum() / t.shape[0]


def timed(fn, n, reps=5):
    out = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        s.record()
        for _ in range(n):
            fn()
        e.record()
        torch.cuda.synchronize()
        out.append(s.elapsed_time(e) / 1e3)
    return statistics.median(out)


def make_data(n, dev, seed=0):
    g = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(n, 1, PIX, generator=g).to(dev)
    y = (torch.arange(n) % 4).to(dev)
    z = (8.5 + 0.2 * torch.randn(n, generator=g)).to(dev)
    m = (y == 0).float()
    return x, y, z, m


def train_bench(mode, steps, dev, tf32=False, bf16=False):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    model = MTL().to(dev)
    assert sum(p.numel() for p in model.parameters()) == 484581
    capturable = mode == "graph"
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=capturable, foreach=True)
    x, y, z, m = make_data(128, dev)
    sx, sy, sz, sm = x.clone(), y.clone(), z.clone(), m.clone()
    batches = [make_data(128, dev, s) for s in range(4)]

    def step():
        opt.zero_grad(set_to_none=False if capturable else True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            a, b = model(sx)
            loss = focal(a, sy) + masked_mae(b, sz, sm)
        loss.backward()
        opt.step()
        return loss

    k = [0]

    def feed():
        bx, by, bz, bm = batches[k[0] % 4]
        k[0] += 1
        sx.copy_(bx, non_blocking=True); sy.copy_(by); sz.copy_(bz); sm.copy_(bm)

    if mode == "eager":
        fn = lambda: (feed(), step())
    elif mode == "compile":
        cstep = torch.compile(step, mode="reduce-overhead")
        fn = lambda: (feed(), cstep())
    else:  # whole-step CUDA graph
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                feed(); step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            step()
        fn = lambda: (feed(), g.replay())
    for _ in range(5):
        fn()
    t = timed(fn, steps)
    return steps * 128 / t


def infer_bench(mode, iters, dev, tf32=False, bf16=False):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    model = MTL().to(dev).eval()
    x = make_data(1024, dev)[0]

    def fwd():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            return model(x)

    if mode == "graph":
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                fwd()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fwd()
        fn = g.replay
    elif mode == "compile":
        fn = torch.compile(fwd, mode="reduce-overhead")
    else:
        fn = fwd
    for _ in range(5):
        fn()
    return iters * 1024 / timed(fn, iters)


def print_ratios(galml_path, rows, groups, cross=()):
    """Ratios against galml's benchmark output (its "GALML <case> <samples/s>" lines): same-named cases,
    then the best configuration of each side per (case prefix, precision) in `groups`, as BEST lines;
    `cross`: (prefix, galml precision, torch precision) pairs compared the same way (galml's 3xTF32, an
    FP32-accuracy mode, against PyTorch's FP32). Shared with compare_pytorch_cuda_models.py."""
    g = {}
    for line in open(galml_path):
        mm = re.match(r"GALML (.+?)\s+(\d+)\s*$", line)
        if mm:
            g[mm.group(1).strip()] = float(mm.group(2))
    t = dict(rows)
    w = max([len(n) for n in g] + [4])
    print(f"\n{'case':<{w}s} {'galml/s':>10s} {'torch/s':>10s} {'galml/torch':>12s}")
    for name, v in g.items():
        if name in t:
            print(f"{name:<{w}s} {v:10.0f} {t[name]:10.0f} {v / t[name]:12.2f}")
    print()
    for prefix, gprec, tprec in [(p, q, q) for p, q in groups] + list(cross):
        def best(items, prec):
            return max(((v, n) for n, v in items if n.startswith(prefix) and f" {prec} " in n), default=None)
        gb, tb = best(g.items(), gprec), best(rows, tprec)
        if gb and tb:
            label = gprec if gprec == tprec else f"{gprec} vs torch {tprec}"
            print(f"BEST {prefix}{label}: galml {gb[0]:.0f} ({gb[1][len(prefix):]}) vs torch {tb[0]:.0f} "
                  f"({tb[1][len(prefix):]}): {gb[0] / tb[0]:.2f}x", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--galml", help="output of bench_cuda_mtlforgalspecz (GALML lines) for ratios")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device for PyTorch")
        return 0
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, cudnn {torch.backends.cudnn.version()}", flush=True)
    torch.backends.cudnn.benchmark = True
    rows = []

    def add(name, f):
        t0 = time.time()
        try:
            v = f()
            rows.append((name, v))
            print(f"TORCH {name:<40s} {v:14.0f}   ({time.time() - t0:.0f} s)", flush=True)
        except Exception as e:  # keep going: report what failed
            print(f"TORCH {name:<40s} failed: {type(e).__name__}: {str(e)[:200]}", flush=True)

    add("train step b128 FP32 eager", lambda: train_bench("eager", a.steps, dev))
    add("train step b128 TF32 eager", lambda: train_bench("eager", a.steps, dev, tf32=True))
    add("train step b128 FP32 CUDA graph", lambda: train_bench("graph", a.steps, dev))
    add("train step b128 TF32 CUDA graph", lambda: train_bench("graph", a.steps, dev, tf32=True))
    add("train step b128 BF16 CUDA graph", lambda: train_bench("graph", a.steps, dev, tf32=True, bf16=True))
    add("inference b1024 FP32 eager", lambda: infer_bench("eager", a.iters, dev))
    add("inference b1024 FP32 CUDA graph", lambda: infer_bench("graph", a.iters, dev))
    add("inference b1024 TF32 CUDA graph", lambda: infer_bench("graph", a.iters, dev, tf32=True))
    add("inference b1024 BF16 CUDA graph", lambda: infer_bench("graph", a.iters, dev, tf32=True, bf16=True))
    if not a.no_compile:  # compilation can take minutes
        add("train step b128 FP32 compile(reduce-overhead)", lambda: train_bench("compile", a.steps, dev))
        add("train step b128 BF16 compile(reduce-overhead)", lambda: train_bench("compile", a.steps, dev, tf32=True, bf16=True))
        add("inference b1024 FP32 compile(reduce-overhead)", lambda: infer_bench("compile", a.iters, dev))
        add("inference b1024 BF16 compile(reduce-overhead)", lambda: infer_bench("compile", a.iters, dev, tf32=True, bf16=True))
    if a.galml:
        print_ratios(a.galml, rows, [("train step b128 ", p) for p in ("FP32", "TF32", "BF16")] +
                     [("inference b1024 ", p) for p in ("FP32", "TF32", "BF16")],
                     cross=[("train step b128 ", "3xTF32", "FP32"), ("inference b1024 ", "3xTF32", "FP32")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
