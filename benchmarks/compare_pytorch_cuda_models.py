#!/usr/bin/env python3
"""PyTorch peers of benchmarks/bench_cuda_models (GCSNet, batch 32; a ViT-style spectral encoder, batch 128).

Same architectures (layer by layer as include/galml/models/gcsnet.hpp and the VitNet of the benchmark),
same step: forward + backward of fixed random output gradients + Adam; inference = eval forward. FP32 and
BF16 autocast, eager and whole-step CUDA graph, and torch.compile(mode="reduce-overhead") unless
--no-compile. Prints samples/s (median of 5 timed runs, CUDA events) and, with --galml FILE (the
benchmark's output), galml / PyTorch ratios and best-vs-best per model, task and precision.

    python3 benchmarks/compare_pytorch_cuda_models.py [--steps 20] [--no-compile] [--galml galml_models.txt]
    python3 benchmarks/compare_pytorch_cuda_models.py --device cpu --quick   # smoke test without a GPU
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BNAct(nn.Sequential):
    def __init__(self, conv, bn):
        super().__init__(conv, bn, nn.ReLU())


class GCSNet(nn.Module):
    """Spectrum 1 x 3843, image 3 x 300 x 300, 4 table values -> 48 tokens of 128 -> fusion -> cosine heads."""

    def __init__(self):
        super().__init__()
        self.spec = nn.Sequential(
            BNAct(nn.Conv1d(1, 32, 11, 2, 5), nn.BatchNorm1d(32)),
            BNAct(nn.Conv1d(32, 64, 7, 2, 3), nn.BatchNorm1d(64)),
            BNAct(nn.Conv1d(64, 128, 5, 1, 2), nn.BatchNorm1d(128)),
            nn.AdaptiveAvgPool1d(16))
        self.img = nn.Sequential(
            BNAct(nn.Conv2d(3, 32, 3, 1, 1), nn.BatchNorm2d(32)), nn.MaxPool2d(2),
            BNAct(nn.Conv2d(32, 64, 3, 1, 1), nn.BatchNorm2d(64)), nn.MaxPool2d(2),
            BNAct(nn.Conv2d(64, 128, 3, 1, 1), nn.BatchNorm2d(128)),
            nn.AdaptiveAvgPool2d((4, 4)))
        self.img_proj = nn.Conv1d(128, 128, 1)
        self.tab = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2048),
                                 nn.LayerNorm(2048), nn.ReLU())
        self.mhsa = nn.MultiheadAttention(128, 4, batch_first=True)
        self.norm = nn.LayerNorm(128)
        self.cls_w = nn.Parameter(torch.randn(4, 64 * 128))
        self.agn_w = nn.Parameter(torch.randn(2, 64 * 128))
        self.cls_s = nn.Parameter(torch.tensor(30.0))
        self.agn_s = nn.Parameter(torch.tensor(30.0))

    def forward(self, spec, img, tab):
        n = spec.shape[0]
        fs = self.spec(spec).transpose(1, 2)                                   # 16 x 128
        fi = self.img_proj(self.img(img).reshape(n, 128, 16)).transpose(1, 2)  # 16 x 128
        ft = self.tab(tab).reshape(n, 16, 128)                                 # 16 x 128
        f1 = torch.cat([fs, fi, ft], 1)                                        # 48 x 128
        a = self.norm(f1 + self.mhsa(f1, f1, f1, need_weights=False)[0])
        fused = F.adaptive_avg_pool1d(a.transpose(1, 2), 16).transpose(1, 2)   # 16 x 128
        h = F.normalize(torch.cat([f1, fused], 1).flatten(1), dim=1, eps=1e-12)
        cls = self.cls_s * F.linear(F.normalize(h, dim=1), F.normalize(self.cls_w, dim=1))
        agn = self.agn_s * F.linear(F.normalize(h, dim=1), F.normalize(self.agn_w, dim=1))
        return cls, agn


class Vit(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv1d(1, 128, 16, 16)
        self.cls = nn.Parameter(torch.zeros(1, 1, 128))
        self.pos = nn.Parameter(torch.zeros(1, 257, 128))
        self.layers = nn.ModuleList(
            [nn.TransformerEncoderLayer(128, 4, 256, dropout=0.1, activation="gelu", batch_first=True, norm_first=True) for _ in range(4)])
        self.norm = nn.LayerNorm(128)
        self.h1 = nn.Linear(128, 4)
        self.h2 = nn.Linear(128, 1)

    def forward(self, x):
        t = self.patch(x).transpose(1, 2)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], 1) + self.pos
        for layer in self.layers:
            t = layer(t)
        c = self.norm(t)[:, 0]
        return self.h1(c), self.h2(c)


def make(model_name, n, dev):
    torch.manual_seed(0)
    if model_name == "gcsnet":
        m = GCSNet().to(dev)
        xs = [torch.randn(n, 1, 3843, device=dev), torch.randn(n, 3, 300, 300, device=dev), torch.randn(n, 4, device=dev)]
        dys = [torch.randn(n, 4, device=dev) * 1e-3, torch.randn(n, 2, device=dev) * 1e-3]
    else:
        m = Vit().to(dev)
        xs = [torch.randn(n, 1, 4096, device=dev)]
        dys = [torch.randn(n, 4, device=dev) * 1e-3, torch.randn(n, 1, device=dev) * 1e-3]
    return m, xs, dys


def timed(fn, reps, dev):
    r = []
    for _ in range(5):
        if dev.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(reps):
                fn()
            b.record()
            torch.cuda.synchronize()
            r.append(a.elapsed_time(b) / 1000.0)
        else:
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            r.append(time.perf_counter() - t0)
    return statistics.median(r)


def bench(model_name, n, task, mode, bf16, reps, dev):
    # FP32 means FP32: PyTorch's cuDNN convolutions default to TF32 (torch.backends.cudnn.allow_tf32 =
    # True), which would compare galml's FP32 against tensor-core TF32. Off for every case here (BF16
    # autocast casts the operands itself).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    m, xs, dys = make(model_name, n, dev)
    capturable = mode == "graph"
    opt = torch.optim.Adam(m.parameters(), lr=1e-4, capturable=capturable) if task == "train" else None

    def step():
        if task == "train":
            m.train()
            opt.zero_grad(set_to_none=not capturable)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                outs = m(*xs)
            torch.autograd.backward([o.float() for o in outs], dys)
            opt.step()
        else:
            with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                return m(*xs)

    if task == "infer":
        m.eval()
    if mode == "compile":
        fn = torch.compile(step, mode="reduce-overhead")
    elif mode == "graph":
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            step()
        fn = g.replay
    else:
        fn = step
    for _ in range(3):
        fn()
    return reps * n / timed(fn, reps, dev)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--quick", action="store_true", help="tiny run (smoke test)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--budget", type=float, default=0, help="seconds: start no new case after this (0 = no limit)")
    ap.add_argument("--only", choices=["gcsnet", "vit"], help="one network only")
    ap.add_argument("--galml", help="output of bench_cuda_models (GALML lines) for ratios")
    a = ap.parse_args()
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device for PyTorch")
        return 0
    torch.backends.cudnn.benchmark = True
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu'}", flush=True)
    reps = 1 if a.quick else a.steps
    sizes = {"gcsnet": 2 if a.quick else 32, "vit": 2 if a.quick else 128}
    modes = ["eager"] + (["graph"] if dev.type == "cuda" else []) + ([] if a.no_compile or dev.type != "cuda" else ["compile"])
    rows = []
    start = time.time()
    # compile last: it takes minutes per case, and a run cut short still reports eager and graph
    for mode in modes:
        for prec, bf16 in (("FP32", False), ("BF16", True)):
            for name in ((a.only,) if a.only else ("gcsnet", "vit")):
                n = sizes[name]
                for task in ("train", "infer"):
                    if task == "infer" and mode == "eager" and dev.type == "cuda":
                        continue
                    label = f"{name} {'train' if task == 'train' else 'inference'} b{n} {prec} " + \
                            {"eager": "eager", "graph": "CUDA graph", "compile": "compile(reduce-overhead)"}[mode]
                    t0 = time.time()
                    if a.budget and t0 - start > a.budget:
                        print(f"TORCH {label:<52s} skipped: --budget {a.budget:.0f} s spent", flush=True)
                        continue
                    try:
                        v = bench(name, n, task, mode, bf16, reps, dev)
                        rows.append((label, v))
                        print(f"TORCH {label:<52s} {v:12.0f}   ({time.time() - t0:.0f} s)", flush=True)
                    except Exception as e:  # keep going: report what failed
                        print(f"TORCH {label:<52s} failed: {type(e).__name__}: {str(e)[:160]}", flush=True)
    if a.galml:
        from compare_pytorch_cuda import print_ratios  # same folder: the shared ratio report
        print_ratios(a.galml, rows, [(f"{m} {t} ", p) for m in ("gcsnet", "vit") for t in ("train", "inference") for p in ("FP32", "BF16")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
