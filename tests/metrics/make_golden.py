#!/usr/bin/python3
"""Writes tests/data/metrics_golden.json: seeded inputs and the metric values galml must reproduce.

Computed independently of the C++ code with numpy only. scikit-learn semantics are re-implemented
by hand here (zero_division=0, weighted = support-weighted, roc_auc_score = trapezoid over the
distinct thresholds of roc_curve), and the AUC is cross-checked with the Mann-Whitney rank formula.
Run from the repository root:  /usr/bin/python3 tests/metrics/make_golden.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(20260423)
out = {}


def fl(a):
    return [float(v) for v in np.asarray(a).ravel()]


# ---------------------------------------------------------------- regression
def reg_metrics(p, t):
    r = p - t
    if r.size == 0:
        return None
    mse = np.mean(r ** 2)
    ss_tot = np.sum((t - t.mean()) ** 2)
    return {
        "n": int(r.size),
        "mse": float(mse),
        "mae": float(np.mean(np.abs(r))),
        "rmse": float(np.sqrt(mse)),
        "bias": float(np.mean(r)),
        "sd": float(np.std(r)),  # ddof=0
        "r2": float(1 - np.sum(r ** 2) / ss_tot),
        "nmad": float(1.4826 * np.median(np.abs(r - np.median(r)))),
    }


def clip_keep(p, t, rule):
    # MMLforGalAM: s = std(|r|); keep mean(r) - 3s < r < mean(r) + 3s (one pass, strict).
    r = p - t
    s = np.std(np.abs(r)) if rule == "abs" else np.std(r)
    m = np.mean(r)
    return (r > m - 3 * s) & (r < m + 3 * s)


n = 500
truth = rng.normal(8.9, 0.25, n)
pred = truth + 0.003 + 0.04 * rng.standard_t(4, n)  # heavy tails: the two clip rules differ
out_idx = rng.choice(n, 12, replace=False)
pred[out_idx] += rng.choice([-1, 1], 12) * rng.uniform(0.2, 0.6, 12)  # outliers for clipping
mask = (rng.uniform(size=n) < 0.8).astype(np.uint8)
reg = {"pred": fl(pred), "truth": fl(truth), "mask": [int(v) for v in mask]}
reg["raw"] = reg_metrics(pred, truth)
m = mask.astype(bool)
reg["masked"] = reg_metrics(pred[m], truth[m])
for rule in ("abs", "std"):
    k = clip_keep(pred, truth, rule)
    reg["clipped_" + rule] = reg_metrics(pred[k], truth[k])
    reg["clipped_" + rule]["n_rejected"] = int(n - k.sum())
    reg["clipped_" + rule]["keep"] = [int(v) for v in k]
    km = clip_keep(pred[m], truth[m], rule)
    reg["masked_clipped_" + rule] = reg_metrics(pred[m][km], truth[m][km])
# the two rules must disagree on this data set, or the test cannot tell them apart
assert reg["clipped_abs"]["n"] != reg["clipped_std"]["n"]
out["regression"] = reg


# ---------------------------------------------------------------- classification
def prf(y_true, y_pred, K):
    cm = np.zeros((K, K), dtype=np.int64)
    for a, b in zip(y_true, y_pred):
        cm[a, b] += 1
    tp = np.diag(cm).astype(float)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        rec = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
    sup = cm.sum(1)
    w = sup / sup.sum()
    return {
        "confusion": cm.tolist(),
        "accuracy": float(np.mean(y_true == y_pred)),
        "precision": fl(prec), "recall": fl(rec), "f1": fl(f1), "support": [int(s) for s in sup],
        "macro": {"precision": float(prec.mean()), "recall": float(rec.mean()), "f1": float(f1.mean())},
        "weighted": {"precision": float(w @ prec), "recall": float(w @ rec), "f1": float(w @ f1)},
    }


def roc_curve(score, pos):
    # sklearn roc_curve (drop_intermediate=False): one point per distinct threshold, descending.
    thr = np.unique(score)[::-1]
    P, N = pos.sum(), (~pos).sum()
    fpr = [0.0] + [float(((score >= th) & ~pos).sum() / N) for th in thr]
    tpr = [0.0] + [float(((score >= th) & pos).sum() / P) for th in thr]
    return np.array(fpr), np.array(tpr)


def auc_trapz(score, pos):
    f, t = roc_curve(score, pos)
    return float(np.sum(np.diff(f) * (t[1:] + t[:-1]) / 2))


def auc_ranks(score, pos):
    # Mann-Whitney: P(score_pos > score_neg) + 0.5 P(equal)
    sp, sn = score[pos], score[~pos]
    gt = (sp[:, None] > sn[None, :]).sum()
    eq = (sp[:, None] == sn[None, :]).sum()
    return float((gt + 0.5 * eq) / (sp.size * sn.size))


K = 4
nc = 400
y_true = rng.integers(0, K, nc)
logits = rng.normal(0, 1, (nc, K))
logits[np.arange(nc), y_true] += 1.5
probs = np.exp(logits)
probs /= probs.sum(1, keepdims=True)
probs = np.round(probs, 2)  # coarse values -> many tied scores, exercising the tie rule
y_pred = np.argmax(probs, 1)
cls = {"K": K, "y_true": [int(v) for v in y_true], "y_pred": [int(v) for v in y_pred],
       "probs": fl(probs)}
cls.update(prf(y_true, y_pred, K))
aucs = []
for c in range(K):
    a = auc_trapz(probs[:, c], y_true == c)
    assert abs(a - auc_ranks(probs[:, c], y_true == c)) < 1e-12
    aucs.append(a)
sup = np.array(cls["support"])
cls["auc"] = aucs
cls["macro_auc"] = float(np.mean(aucs))
cls["weighted_auc"] = float(np.dot(aucs, sup) / sup.sum())
f, t = roc_curve(probs[:, 0], y_true == 0)
cls["roc0"] = {"fpr": fl(f), "tpr": fl(t)}
# a predictor that never predicts class 3 -> precision 0 for it via zero_division
y_pred2 = np.where(y_pred == 3, 2, y_pred)
cls["no_class3"] = dict(y_pred=[int(v) for v in y_pred2], **prf(y_true, y_pred2, K))
out["classification"] = cls

# ---------------------------------------------------------------- binned
edges = [0, 0.04, 0.08, 0.12, 0.15, 0.2, 0.3]
z = rng.uniform(-0.01, 0.31, nc)
z[:3] = [0.3, 0.0, 0.04]  # edge cases: top edge (closed) and inner edges (left-closed)
zp = truth[:nc]
zq = pred[:nc]
bins = np.digitize(z, edges[1:-1])  # numpy.histogram rule, checked below
inside = (z >= edges[0]) & (z <= edges[-1])
hist = np.histogram(z, edges)[0]
breg, bcls = [], []
for k in range(len(edges) - 1):
    sel = inside & (bins == k)
    assert sel.sum() == hist[k]
    mm = reg_metrics(zq[sel], zp[sel])
    breg.append(mm)
    cc = np.bincount(y_true[sel], minlength=K)
    bcls.append({"count": int(sel.sum()), "accuracy": float(np.mean(y_true[sel] == y_pred[sel])),
                 "class_counts": [int(v) for v in cc], "class_fractions": fl(cc / sel.sum())})
out["binned"] = {"edges": edges, "x": fl(z), "regression": breg, "classification": bcls}

# ---------------------------------------------------------------- uncertainty
T, N, D = 7, 5, 2
passes = rng.normal(8.5, 0.05, (T, N, D))
lg = rng.normal(0, 1.5, (T, N, K))
pp = np.exp(lg)
pp /= pp.sum(2, keepdims=True)
pm = pp.mean(0)


def H(p):
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0), axis=-1)


out["uncertainty"] = {
    "T": T, "N": N, "D": D, "K": K,
    "passes": fl(passes), "mean": fl(passes.mean(0)), "std": fl(passes.std(0)),
    "pass_probs": fl(pp), "mean_probs": fl(pm),
    "entropy": fl(H(pm)), "mutual_information": fl(H(pm) - H(pp).mean(0)),
}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "metrics_golden.json")
with open(path, "w") as fh:
    json.dump(out, fh, separators=(",", ":"))
    fh.write("\n")
print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")
