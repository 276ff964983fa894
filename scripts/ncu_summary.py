#!/usr/bin/env python3
"""Per-kernel time table from `ncu --csv --metrics gpu__time_duration.sum <program>` output.

  ncu --csv --metrics gpu__time_duration.sum build/benchmarks/bench_cuda_models --only gcsnet --profile > k.csv
  python3 scripts/ncu_summary.py k.csv --steps 2     # --steps: how many identical steps the program ran

Groups kernels by name (templates cut at the first '<' or '('), sums their durations, divides by --steps
and prints the largest first with their share of the total.
"""
import argparse
import csv
import io
import re
import sys
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--top", type=int, default=40)
    a = ap.parse_args()
    text = open(a.csv, errors="replace").read()
    start = text.find('"ID"')
    if start < 0:
        print(f"{a.csv}: no ncu CSV table found (first lines: {text[:300]!r})")
        return 1
    rows = list(csv.DictReader(io.StringIO(text[start:])))
    tot, cnt = defaultdict(float), defaultdict(int)
    for r in rows:
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        v = float(r["Metric Value"].replace(",", ""))
        unit = r.get("Metric Unit", "ns")
        v *= {"ns": 1e-6, "nsecond": 1e-6, "us": 1e-3, "usecond": 1e-3, "ms": 1.0, "msecond": 1.0, "s": 1e3, "second": 1e3}.get(unit, 1e-6)
        name = re.split(r"[<(]", r["Kernel Name"])[0].strip()
        name = name.replace("void ", "").split("::")[-1]
        tot[name] += v
        cnt[name] += 1
    total = sum(tot.values())
    print(f"{len(rows)} kernel launches, {total / a.steps:.3f} ms of kernel time per step")
    print(f"{'ms/step':>9s} {'share':>6s} {'calls':>6s}  kernel")
    for name, v in sorted(tot.items(), key=lambda kv: -kv[1])[: a.top]:
        print(f"{v / a.steps:9.3f} {100 * v / total:5.1f}% {cnt[name] // a.steps:6d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
