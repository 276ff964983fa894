#!/usr/bin/python3
"""galml vs PyTorch on MTLforGalSpecZ (padding 0, SE, dropout 0.5), same machine, same run.

Times a training step at batch 128 (forward, focal + masked MAE, backward, Adam lr 1e-3) and eval-mode
inference at batch 1, 64, 256, 1024 for both libraries. The galml benchmark binary and the PyTorch timing
alternate (galml, torch, galml, torch, ...) so that load from other processes hits both alike; the table
shows medians over the repetitions.

    /usr/bin/python3 benchmarks/compare_pytorch.py --build-dir build-bench --threads 2 [--reps 5] [--json out.json]
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
import torch.nn.functional as F

INFER_BATCHES = [1, 64, 256, 1024]
TRAIN_BATCH = 128
L_IN = 5161


class SE(nn.Module):
    def __init__(self, c=256, h=16):
        super().__init__()
        self.fc1 = nn.Conv1d(c, h, 1)
        self.fc2 = nn.Conv1d(h, c, 1)

    def forward(self, x):
        s = x.mean(dim=2, keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class MTLforGalSpecZ(nn.Module):
    def __init__(self, padding=0, p=0.5):
        super().__init__()
        layers, cin = [], 1
        for c in (16, 32, 64, 128, 256):
            layers += [nn.Conv1d(cin, c, 3, 1, padding), nn.ReLU(), nn.Conv1d(c, c, 3, 1, padding), nn.ReLU(), nn.MaxPool1d(3)]
            cin = c
        self.backbone = nn.Sequential(*layers)
        self.se = SE()

        def head(out):
            return nn.Sequential(nn.Dropout(p), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, out))
        self.cls = head(4)
        self.z = head(1)

    def forward(self, x):
        f = self.se(self.backbone(x)).mean(dim=2)
        return self.cls(f), self.z(f)


def focal_loss(logits, y, alpha=0.25, gamma=2.0):
    lp = F.log_softmax(logits, dim=1).gather(1, y[:, None]).squeeze(1)
    return (-alpha * (-torch.expm1(lp)) ** gamma * lp).mean()


def masked_mae(pred, target, mask):  # Eq. 7: divide by N, not by the mask count
    return (torch.where(mask, (pred.squeeze(1) - target).abs(), torch.zeros_like(target))).sum() / pred.shape[0]


def timed(fn, min_time, min_iters=3):
    fn()  # warm-up (allocations, oneDNN primitive creation)
    times, start = [], time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def torch_run(min_time):
    torch.manual_seed(0)
    model = MTLforGalSpecZ()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(TRAIN_BATCH, 1, L_IN)
    y = torch.arange(TRAIN_BATCH) % 4
    z = 8.5 + 0.3 * torch.randn(TRAIN_BATCH)
    mask = y == 0

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        c, r = model(x)
        loss = focal_loss(c, y) + masked_mae(r, z, mask)
        loss.backward()
        opt.step()

    res = {"train": TRAIN_BATCH / timed(step, min_time)}
    model.eval()
    for n in INFER_BATCHES:
        xi = torch.randn(n, 1, L_IN)

        def infer():
            with torch.inference_mode():
                model(xi)
        res[f"infer/{n}"] = n / timed(infer, min_time)
    return res


def galml_run(binary, threads, min_time):
    cmd = [binary, f"--threads={threads}", "--benchmark_format=json", f"--benchmark_min_time={min_time}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "GALML_NUM_THREADS": str(threads)}).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        name = b["name"].split("/real_time")[0]  # "train/128", "infer/64"
        key = "train" if name.startswith("train") else name
        res[key] = b["items_per_second"]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build-bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions (medians are reported)")
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement")
    ap.add_argument("--json", default=None, help="result file (default: <build-dir>/compare_pytorch.json)")
    a = ap.parse_args()

    binary = os.path.join(a.build_dir, "benchmarks", "bench_mtlforgalspecz")
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: configure with -DGALML_BUILD_BENCHMARKS=ON and build bench_mtlforgalspecz")
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)

    runs = {"galml": [], "torch": []}
    for r in range(a.reps):
        runs["galml"].append(galml_run(binary, a.threads, a.min_time))
        runs["torch"].append(torch_run(a.min_time))
        print(f"rep {r + 1}/{a.reps}: galml train {runs['galml'][-1]['train']:.1f}/s, torch train {runs['torch'][-1]['train']:.1f}/s",
              flush=True)

    keys = ["train"] + [f"infer/{n}" for n in INFER_BATCHES]
    med = {lib: {k: statistics.median(r[k] for r in runs[lib]) for k in keys} for lib in runs}
    g_best = max(med["galml"][f"infer/{n}"] for n in INFER_BATCHES)
    t_best = max(med["torch"][f"infer/{n}"] for n in INFER_BATCHES)

    print(f"\nMTLforGalSpecZ, {a.threads} threads, medians of {a.reps} interleaved repetitions (samples/s)")
    print(f"{'case':<14}{'galml':>12}{'PyTorch':>12}{'galml/PyTorch':>16}")
    for k in keys:
        g, t = med["galml"][k], med["torch"][k]
        label = "train/128" if k == "train" else k
        print(f"{label:<14}{g:>12.1f}{t:>12.1f}{g / t:>16.2f}")
    print(f"{'best infer':<14}{g_best:>12.1f}{t_best:>12.1f}{g_best / t_best:>16.2f}")

    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": platform.processor() or platform.machine(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), ""),
        "threads": a.threads, "reps": a.reps, "torch": torch.__version__,
        "runs": runs, "median": med,
        "ratio": {k: med["galml"][k] / med["torch"][k] for k in keys},
        "best_infer": {"galml": g_best, "torch": t_best, "ratio": g_best / t_best},
    }
    path = a.json or os.path.join(a.build_dir, "compare_pytorch.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
