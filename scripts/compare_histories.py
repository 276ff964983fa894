#!/usr/bin/env python3
"""Compare two history.json files of mtlforgalspecz runs exactly, every field but the timings.

  python3 scripts/compare_histories.py A/history.json B/history.json

Used to check that a run stopped and resumed (--resume) equals an uninterrupted one: same epochs, same
losses, learning rates and task weights, to the last printed digit (the JSON holds round-trip doubles).
Exit 1 on any difference.
"""
import json
import sys

SKIP = {"seconds", "samples_per_s"}


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    a, b = (json.load(open(p))["epochs"] for p in sys.argv[1:])
    if len(a) != len(b) or not a:
        print(f"{sys.argv[1]}: {len(a)} epochs, {sys.argv[2]}: {len(b)} epochs")
        return 1
    bad = 0
    for ra, rb in zip(a, b):
        for k, v in ra.items():
            if k not in SKIP and v != rb.get(k):
                print(f"epoch {ra['epoch']}: {k} {v} != {rb.get(k)}")
                bad += 1
    if bad:
        return 1
    print(f"{len(a)} epochs, every field but the timings identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
