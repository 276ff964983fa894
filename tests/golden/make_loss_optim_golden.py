#!/usr/bin/env python3
"""Golden values for galml losses, optimizers, clipping and LR schedules, from PyTorch 1.13 (float64).

Writes tests/data/golden/loss_golden.json and tests/data/golden/optim_golden.json, read by
tests/loss/test_loss_parity.cpp and tests/optim/test_optim_parity.cpp. Arrays are flat row-major lists;
NaN (masked-out targets) is written as null because JSON has no NaN. The focal loss is not in torch:
it is written here by hand from the formula (MTLforGalSpecZ Eq. 6) and differentiated by autograd.

Run: /usr/bin/python3 tests/golden/make_loss_optim_golden.py   (from the repository root)
"""
import json
import math
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
rng = np.random.default_rng(20240611)


def flat(t):
    return [None if (isinstance(v, float) and math.isnan(v)) else float(v) for v in np.asarray(t, dtype=np.float64).ravel()]


def case(name, kind, pred, target, loss_fn, options, mask=None):
    p = torch.tensor(pred, requires_grad=True)
    loss = loss_fn(p)
    loss.backward()
    N, D = pred.shape
    return {"name": name, "kind": kind, "N": N, "D": D, "options": options, "pred": flat(pred), "target": flat(target),
            "mask": None if mask is None else flat(mask), "loss": float(loss), "grad": flat(p.grad.numpy())}


def focal_torch(logits, y_onehot, alpha, gamma):
    lsm = torch.log_softmax(logits, dim=1)
    p = lsm.exp()
    a = torch.tensor(alpha)[None, :]
    return (-(a * (1 - p) ** gamma * y_onehot * lsm).sum(1)).mean()


def loss_cases():
    N, D = 6, 4
    logits = rng.normal(0, 2, (N, D))
    labels = rng.integers(0, D, N).astype(np.float64)
    lab_t = torch.tensor(labels).long()
    w = [0.5, 2.0, 1.0, 3.0]
    soft = rng.dirichlet(np.ones(D), N)
    cs = []
    cs.append(case("ce_plain", "ce", logits, labels, lambda p: F.cross_entropy(p, lab_t), {}))
    cs.append(case("ce_weights", "ce", logits, labels, lambda p: F.cross_entropy(p, lab_t, weight=torch.tensor(w)),
                   {"class_weights": w}))
    cs.append(case("ce_smooth", "ce", logits, labels, lambda p: F.cross_entropy(p, lab_t, label_smoothing=0.1),
                   {"label_smoothing": 0.1}))
    cs.append(case("ce_weights_smooth", "ce", logits, labels,
                   lambda p: F.cross_entropy(p, lab_t, weight=torch.tensor(w), label_smoothing=0.1),
                   {"class_weights": w, "label_smoothing": 0.1}))
    cs.append(case("ce_soft", "ce", logits, soft, lambda p: F.cross_entropy(p, torch.tensor(soft)), {"soft_targets": True}))
    cs.append(case("ce_soft_weights_smooth", "ce", logits, soft,
                   lambda p: F.cross_entropy(p, torch.tensor(soft), weight=torch.tensor(w), label_smoothing=0.2),
                   {"soft_targets": True, "class_weights": w, "label_smoothing": 0.2}))
    # A row mask on a plain loss = PyTorch ignore_index (mean over kept rows, weighted by their class weights).
    mask = np.array([1, 0, 1, 1, 0, 1], dtype=np.float64)
    ign = lab_t.clone()
    ign[torch.tensor(mask) == 0] = -100
    lab_nan = labels.copy()
    lab_nan[mask == 0] = np.nan
    cs.append(case("ce_weights_smooth_mask", "ce", logits, lab_nan,
                   lambda p: F.cross_entropy(p, ign, weight=torch.tensor(w), label_smoothing=0.1, ignore_index=-100),
                   {"class_weights": w, "label_smoothing": 0.1}, mask))
    cs.append(case("ce_mask", "ce", logits, lab_nan, lambda p: F.cross_entropy(p, ign, ignore_index=-100), {}, mask))

    onehot = torch.nn.functional.one_hot(lab_t, D).double()
    cs.append(case("focal_default", "focal", logits, labels, lambda p: focal_torch(p, onehot, [0.25] * D, 2.0), {}))
    alpha = [0.1, 0.4, 0.25, 0.7]
    cs.append(case("focal_alpha_gamma", "focal", logits, labels, lambda p: focal_torch(p, onehot, alpha, 1.5),
                   {"alpha": alpha, "gamma": 1.5}))
    cs.append(case("focal_soft", "focal", logits, soft, lambda p: focal_torch(p, torch.tensor(soft), alpha, 2.0),
                   {"alpha": alpha, "soft_targets": True}))

    R = 3
    pr = rng.normal(0, 1, (N, R))
    tr = rng.normal(0, 1, (N, R))
    cs.append(case("mse", "mse", pr, tr, lambda p: F.mse_loss(p, torch.tensor(tr)), {}))
    cs.append(case("mae", "mae", pr, tr, lambda p: F.l1_loss(p, torch.tensor(tr)), {}))
    # Masked regression, MTLforGalSpecZ Eq. 7: masked rows carry NaN targets; torch.where selects.
    tr_nan = tr.copy()
    tr_nan[mask == 0] = np.nan
    m_t = torch.tensor(mask)[:, None].bool().expand(N, R)
    tn = torch.tensor(tr_nan)

    def masked(p, elem, denom):
        diff = torch.where(m_t, p - torch.nan_to_num(tn), torch.zeros_like(p))
        return elem(diff).sum() / denom

    kept = float(mask.sum())
    cs.append(case("masked_mae_batch", "masked_mae", pr, tr_nan, lambda p: masked(p, torch.abs, N * R),
                   {"normalize": "batch"}, mask))
    cs.append(case("masked_mae_count", "masked_mae", pr, tr_nan, lambda p: masked(p, torch.abs, kept * R),
                   {"normalize": "mask_count"}, mask))
    cs.append(case("masked_mse_batch", "masked_mse", pr, tr_nan, lambda p: masked(p, torch.square, N * R),
                   {"normalize": "batch"}, mask))
    # Eq. 7 proper: one output per galaxy (D = 1), ÷N.
    p1, t1 = pr[:, :1].copy(), tr_nan[:, :1].copy()
    m1 = torch.tensor(mask).bool()[:, None]
    t1t = torch.tensor(t1)
    cs.append(case("masked_mae_eq7", "masked_mae", p1, t1,
                   lambda p: torch.where(m1, (p - torch.nan_to_num(t1t)).abs(), torch.zeros_like(p)).sum() / N,
                   {"normalize": "batch"}, mask))
    return cs


def run_opt(make, p0, grads):
    p = torch.tensor(p0, requires_grad=True)
    opt = make([p])
    trace = []
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        trace.append(flat(p.detach().numpy()))
    return trace


def optim_cases():
    n, steps = 7, 5
    p0 = rng.normal(0, 1, n)
    grads = rng.normal(0, 1, (steps, n))
    grads[2, 3] = 0.0  # exact zero gradient element
    cfgs = [
        ("sgd_plain", "sgd", {"lr": 0.1}, lambda ps: torch.optim.SGD(ps, lr=0.1)),
        ("sgd_momentum_damp_wd", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
         lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
        ("sgd_nesterov_wd", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
         lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("adam", "adam", {"lr": 0.01}, lambda ps: torch.optim.Adam(ps, lr=0.01)),
        ("adam_keras_eps_wd", "adam", {"lr": 0.01, "eps": 1e-7, "weight_decay": 0.1},
         lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-7, weight_decay=0.1)),
        ("adam_amsgrad", "adam", {"lr": 0.01, "betas": [0.8, 0.99], "amsgrad": True},
         lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), amsgrad=True)),
        ("adamw", "adamw", {"lr": 0.01, "weight_decay": 0.01}, lambda ps: torch.optim.AdamW(ps, lr=0.01)),
        ("adamw_amsgrad_wd", "adamw", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True},
         lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1, amsgrad=True)),
    ]
    out = []
    for name, kind, opts, make in cfgs:
        out.append({"name": name, "kind": kind, "options": opts, "p0": flat(p0), "grads": flat(grads),
                    "steps": steps, "trace": run_opt(make, p0, grads)})
    return out


def clip_cases():
    g = rng.normal(0, 1, 9)
    out = []
    for max_norm, nt in [(1.0, 2.0), (100.0, 2.0), (0.5, float("inf")), (1.0, 1.0)]:
        p = torch.zeros(9, requires_grad=True)
        p.grad = torch.tensor(g)
        norm = torch.nn.utils.clip_grad_norm_([p], max_norm, norm_type=nt)
        out.append({"max_norm": max_norm, "norm_type": "inf" if math.isinf(nt) else nt, "grads": flat(g),
                    "norm": float(norm), "clipped": flat(p.grad.numpy())})
    return out


def sched_cases():
    metrics = [1.0, 0.9, 0.95, 0.899, 0.9, 0.91, 0.92, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.6, 0.7, 0.8,
               0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, float("nan"), 0.1, 0.1, 0.1, 0.1, 0.1]
    cfgs = [
        {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01, "threshold_mode": "rel", "cooldown": 2,
         "min_lr": 0.05, "eps": 1e-8},
        {"mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4, "threshold_mode": "rel", "cooldown": 0,
         "min_lr": 0.0, "eps": 1e-8},
        {"mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.05, "threshold_mode": "abs", "cooldown": 1,
         "min_lr": 0.001, "eps": 1e-8},
        {"mode": "max", "factor": 0.5, "patience": 0, "threshold": 0.1, "threshold_mode": "rel", "cooldown": 3,
         "min_lr": 0.0, "eps": 1e-8},
        {"mode": "min", "factor": 0.9, "patience": 1, "threshold": 0.0, "threshold_mode": "abs", "cooldown": 0,
         "min_lr": 0.0, "eps": 0.2},  # eps larger than most reductions: reductions are skipped until lr is big
    ]
    plateau = []
    for c in cfgs:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=1.0 if c["eps"] < 0.1 else 3.0)
        s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **c)
        lrs = []
        for m in metrics:
            s.step(m)
            lrs.append(opt.param_groups[0]["lr"])
        plateau.append({"options": c, "lr0": 1.0 if c["eps"] < 0.1 else 3.0, "lrs": lrs,
                        "best": s.best, "num_bad_epochs": s.num_bad_epochs, "cooldown_counter": s.cooldown_counter})

    def epoch_trace(make, epochs):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        s = make(opt)
        lrs = []
        for _ in range(epochs):
            opt.step()
            s.step()
            lrs.append(opt.param_groups[0]["lr"])
        return lrs

    step = {"base_lr": 0.1, "step_size": 3, "gamma": 0.5,
            "lrs": epoch_trace(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 14)}
    cos = {"base_lr": 0.1, "T_max": 5, "eta_min": 0.01,
           "lrs": epoch_trace(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01), 23)}
    return {"metrics": [None if math.isnan(m) else m for m in metrics], "plateau": plateau, "step_lr": step,
            "cosine": cos}


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "loss_golden.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": loss_cases()}, f, indent=1, allow_nan=False)
    with open(os.path.join(OUT, "optim_golden.json"), "w") as f:
        json.dump({"torch": torch.__version__, "optimizers": optim_cases(), "clip": clip_cases(),
                   "schedulers": sched_cases()}, f, indent=1, allow_nan=False)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
