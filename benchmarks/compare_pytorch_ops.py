#!/usr/bin/python3
"""galml vs PyTorch, op by op, on the same machine in the same run.

Each op is one entry in the OPS table: the galml Google Benchmark binary and benchmark name that time
it, and a PyTorch setup function that returns a step callable and the number of samples one call
processes. For every repetition the galml binary runs (all selected benchmarks of that binary), then
the PyTorch steps, alternating, so load from other processes hits both alike; the table shows medians
of samples/s and the ratio galml/PyTorch (> 1: galml faster).

    /usr/bin/python3 benchmarks/compare_pytorch_ops.py --threads 2 [--bin-dir build-bench/benchmarks]
            [--ops conv2d_m3_first/train,...] [--reps 5] [--min-time 2] [--json out.json]

To add an op: write a torch setup function (below) and register() it with the galml binary and
benchmark name (without the "/<batch>/real_time" suffix Google Benchmark appends).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn

OPS = {}  # name -> {"binary", "galml", "torch": setup(), "batch", "what"}


def register(name, binary, galml_name, torch_setup, batch, what):
    OPS[name] = {"binary": binary, "galml": galml_name, "torch": torch_setup, "batch": batch, "what": what}


# ---- Conv2D, MMLforGalAM M3 first block: 3x128x128 -> 32, 3x3 "same", batch 16 (bench_conv2d.cpp) ----
def conv2d_m3_first(mode):
    def setup():
        torch.manual_seed(0)
        n = 16
        conv = nn.Conv2d(3, 32, 3, padding=1)
        x = torch.randn(n, 3, 128, 128, requires_grad=(mode == "train_dx"))
        dy = torch.randn(n, 32, 128, 128)

        def train():
            conv.zero_grad(set_to_none=False)
            if x.grad is not None:
                x.grad = None
            conv(x).backward(dy)

        def forward():
            with torch.no_grad():
                conv(x)
        return (forward if mode == "forward" else train), n
    return setup


for _mode, _what in [("train", "forward + backward (dW, db)"), ("train_dx", "forward + backward (dW, db, dx)"),
                     ("forward", "forward")]:
    register(f"conv2d_m3_first/{_mode}", "bench_conv2d", f"conv2d_m3_first/{_mode}", conv2d_m3_first(_mode), 16,
             f"Conv2D 3x128x128->32 k3 same, {_what}")


# ---- Attention (bench_attention.cpp): T=65 tokens, d_model 128, 4 heads, FF 256, batch 64, dropout 0;
# forward + backward including the input gradient ----
def attention_op(kind, mode):
    def setup():
        torch.manual_seed(0)
        n, t, d = 64, 65, 128
        if kind == "mhsa":
            mha = nn.MultiheadAttention(d, 4, batch_first=True)
            mod, fn = mha, (lambda z: mha(z, z, z, need_weights=False)[0])
        else:
            mod = nn.TransformerEncoderLayer(d, 4, 256, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
            fn = mod
        x = torch.randn(n, t, d, requires_grad=True)
        dy = torch.randn(n, t, d)

        def train():
            mod.zero_grad(set_to_none=False)
            x.grad = None
            fn(x).backward(dy)

        def forward():
            mod.eval()
            with torch.no_grad():
                fn(x)
        return (train if mode == "train" else forward), n
    return setup


for _kind, _gname, _what in [("mhsa", "mhsa_t65_d128_h4", "MultiHeadSelfAttention T65 D128 H4"),
                             ("encoder", "transformer_t65_d128_h4_ff256", "TransformerEncoderLayer pre-LN GELU T65 D128 H4 FF256")]:
    for _mode in ("train", "forward"):
        register(f"{_gname}/{_mode}", "bench_attention", f"{_gname}/{_mode}", attention_op(_kind, _mode), 64,
                 f"{_what}, {'forward + backward (params, dx)' if _mode == 'train' else 'forward (eval)'}")


def timed(fn, min_time, min_iters=3):
    fn()  # warm-up (allocations, oneDNN primitive creation)
    times, start = [], time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def torch_run(names, min_time):
    res = {}
    for name in names:
        step, n = OPS[name]["torch"]()
        res[name] = n / timed(step, min_time)
    return res


def galml_run(bin_dir, names, threads, min_time):
    res = {}
    by_binary = {}
    for name in names:
        by_binary.setdefault(OPS[name]["binary"], []).append(name)
    for binary, group in by_binary.items():
        path = os.path.join(bin_dir, binary)
        filt = "^(" + "|".join(OPS[n]["galml"] for n in group) + ")/"
        cmd = [path, f"--threads={threads}", "--benchmark_format=json", f"--benchmark_min_time={min_time}", f"--benchmark_filter={filt}"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "GALML_NUM_THREADS": str(threads)}).stdout
        got = {b["name"].rsplit("/", 2)[0] if b["name"].endswith("real_time") else b["name"]: b["items_per_second"]
               for b in json.loads(out)["benchmarks"]}
        for n in group:
            key = next((k for k in got if k.startswith(OPS[n]["galml"] + "/") or k == OPS[n]["galml"]), None)
            if key is None:
                sys.exit(f"{binary}: no benchmark {OPS[n]['galml']} in {sorted(got)}")
            res[n] = got[key]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", default=os.path.join("build-bench", "benchmarks"), help="folder with the galml benchmark binaries")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ops", default=None, help="comma-separated op names (default: all): " + ", ".join(OPS))
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions (medians are reported)")
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement")
    ap.add_argument("--json", default=None, help="result file (default: <bin-dir>/compare_pytorch_ops.json)")
    a = ap.parse_args()

    names = a.ops.split(",") if a.ops else list(OPS)
    for n in names:
        if n not in OPS:
            sys.exit(f"unknown op {n}; known: {', '.join(OPS)}")
        path = os.path.join(a.bin_dir, OPS[n]["binary"])
        if not os.path.exists(path):
            sys.exit(f"{path} not found: build the {OPS[n]['binary']} benchmark (GALML_BUILD_BENCHMARKS=ON) or pass --bin-dir")
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)

    runs = {"galml": [], "torch": []}
    for r in range(a.reps):
        runs["galml"].append(galml_run(a.bin_dir, names, a.threads, a.min_time))
        runs["torch"].append(torch_run(names, a.min_time))
        print(f"rep {r + 1}/{a.reps}: " + ", ".join(f"{n} galml {runs['galml'][-1][n]:.1f}/s torch {runs['torch'][-1][n]:.1f}/s"
                                                  for n in names), flush=True)

    med = {lib: {n: statistics.median(r[n] for r in runs[lib]) for n in names} for lib in runs}
    print(f"\n{a.threads} threads, medians of {a.reps} interleaved repetitions (samples/s), torch {torch.__version__}")
    w = max(len(n) for n in names) + 2
    print(f"{'op':<{w}}{'batch':>6}{'galml':>12}{'PyTorch':>12}{'galml/PyTorch':>16}")
    for n in names:
        g, t = med["galml"][n], med["torch"][n]
        print(f"{n:<{w}}{OPS[n]['batch']:>6}{g:>12.1f}{t:>12.1f}{g / t:>16.2f}")

    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": platform.processor() or platform.machine(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), ""),
        "threads": a.threads, "reps": a.reps, "min_time": a.min_time, "torch": torch.__version__,
        "ops": {n: {"what": OPS[n]["what"], "batch": OPS[n]["batch"]} for n in names},
        "runs": runs, "median": med, "ratio": {n: med["galml"][n] / med["torch"][n] for n in names},
    }
    path = a.json or os.path.join(a.bin_dir, "compare_pytorch_ops.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
