"""Checks the PyTorch reference (losses_ref.py) against every number of the spec's test vectors
(docs/losses.md, "Cross-implementation fixtures and the spec's test vectors"), plus a few properties the spec states in words (finite differences agree with
autograd, an all-pad batch gives loss 0 and zero gradients, the UL clamp zeroes the gradient), and
checks that the committed loss_fixtures.json is still what the reference computes.

Plain script, no pytest:  /usr/bin/python3 tests/reference/test_losses_ref.py
Exit status 0 when every check passes, 1 otherwise (each failure is printed with both values).
"""

import json
import math
import os
import random
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the committed files
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from losses_ref import (  # noqa: E402
    candidate_probs,
    pairwise_gate,
    reference_loss,
    topk_candidates,
    welleck_token_ul,
)

TOL = 1e-6  # the spec prints 6 decimals
failures = []
n_checks = 0


def check(name, got, want, tol=TOL):
    """Compare a number or a (nested) list of numbers elementwise; record a failure with both values."""
    global n_checks
    n_checks += 1
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            failures.append(f"{name}: got {got}, want {want} (length/shape differs)")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            n_checks -= 1  # count the whole list as one check
            check(f"{name}[{i}]", g, w, tol)
        return
    if isinstance(want, int) and not isinstance(want, bool) and isinstance(got, int):
        if got != want:
            failures.append(f"{name}: got {got}, want {want}")
        return
    if not (math.isfinite(got) and abs(got - want) <= tol):
        failures.append(f"{name}: got {got!r}, want {want!r} (|diff| = {abs(got - want):.3g})")


def one_token_cr(row, neg, pos, alpha=1.0):
    """Cr of one negative token with an injected positive, through reference_loss (N_sup = 1)."""
    out = reference_loss({"loss": "cringe", "options": {"alpha": alpha}, "pad_id": -1,
                          "logits": [[row]], "targets": [[neg]], "labels": [0], "sampled": [[pos]]})
    return out


# ---------------------------------------------------------------------------------------------
# TV1: candidate sets, sampling probabilities, per-candidate Cr (V = 6)
# pad_id -1 in the one-token cases above means "no padding" (no id equals -1).
# ---------------------------------------------------------------------------------------------
S1 = [2.0, 1.0, 0.5, 3.0, -1.0, 0.0]
TV1 = [  # (negative, k, candidates, probs, Cr per candidate or None, E[Cr])
    (3, 1, [0], [1.0], [1.313262], 1.313262),
    (3, 2, [0, 1], [0.731059, 0.268941], [1.313262, 2.126928], 1.532090),
    (3, 5, [0, 1, 2, 5, 4], [0.563021, 0.207124, 0.125627, 0.076197, 0.028031], None, 1.848836),
    (5, 2, [3, 0], [0.731059, 0.268941], [0.048587, 0.126928], 0.069656),
    (0, 2, [3, 1], [0.880797, 0.119203], [0.313262, 1.313262], 0.432465),
]
for neg, k, want_ids, want_q, want_cr, want_ecr in TV1:
    tag = f"TV1 y={neg} k={k}"
    ids = topk_candidates(S1, neg, k)
    check(f"{tag} candidates", ids, want_ids)
    q = candidate_probs(S1, ids)
    check(f"{tag} probs", q, want_q)
    crs = [one_token_cr(S1, neg, j)["loss"] for j in ids]
    if want_cr is not None:
        check(f"{tag} Cr", crs, want_cr)
    check(f"{tag} E[Cr]", sum(qj * cj for qj, cj in zip(q, crs)), want_ecr)

g = one_token_cr(S1, 3, 0)["grad"][0][0]
check("TV1 grad d/ds_3 (y=3, cand 0)", g[3], 0.731059)
check("TV1 grad d/ds_0 (y=3, cand 0)", g[0], -0.731059)
check("TV1 grad other logits", [g[i] for i in (1, 2, 4, 5)], [0.0] * 4)
g = one_token_cr(S1, 3, 0, alpha=0.5)["grad"][0][0]  # "times alpha / N_sup"
check("TV1 grad d/ds_3 alpha 0.5", g[3], 0.5 * 0.731059)

# ---------------------------------------------------------------------------------------------
# TV2: CRINGE batch loss and normalisation. B = 2, T = 3, V = 5, pad 0, labels [neg, pos].
# ---------------------------------------------------------------------------------------------
TV2_LOGITS = [
    [[0, 1, 2, 3, 0.5], [0, 2, 1, -1, 0], [0, 0, 0, 0, 0]],
    [[0, 1, 0, 0, 0], [0.5] * 5, [0, 0, 2, 1, 0]],
]
TV2_TARGETS = [[3, 2, 0], [1, 4, 2]]


def tv2_case(loss, k=1, **options):
    """The TV2 batch; the negative row's positives are drawn deterministically: k = 1 -> top-1."""
    sampled = [[-1] * 3, [-1] * 3]
    if loss == "cringe":
        for t in range(2):  # t = 2 is padding
            (sampled[0][t],) = topk_candidates(TV2_LOGITS[0][t], TV2_TARGETS[0][t], k)[:1]
    return {"loss": loss, "options": dict(k=k, **options) if loss == "cringe" else options,
            "pad_id": 0, "logits": TV2_LOGITS, "targets": TV2_TARGETS, "labels": [0, 1],
            "sampled": sampled}


case = tv2_case("cringe")
check("TV2 sampled positives (k=1)", case["sampled"][0][:2], [2, 1])
check("TV2 Cr(ex0,t0)", one_token_cr(TV2_LOGITS[0][0], 3, 2)["loss"], 1.313262)
check("TV2 Cr(ex0,t1)", one_token_cr(TV2_LOGITS[0][1], 2, 1)["loss"], 0.313262)
ce_ex1 = [reference_loss({"loss": "cross_entropy", "pad_id": -1, "logits": [[TV2_LOGITS[1][t]]],
                          "targets": [[TV2_TARGETS[1][t]]], "labels": [1]})["loss"] for t in range(3)]
check("TV2 CE(ex1)", ce_ex1, [0.904832, 1.609438, 0.573172])

out = reference_loss(case)
check("TV2 N_sup", out["n_supervised"], 5)
check("TV2 loss alpha 1", out["loss"], 0.942793)
G = out["grad"]
check("TV2 grad ex0 t0", G[0][0], [0, 0, -0.146212, 0.146212, 0])
check("TV2 grad ex0 t1", G[0][1], [0, -0.053788, 0.053788, 0, 0])
check("TV2 grad ex0 t2 (pad)", G[0][2], [0] * 5)
check("TV2 grad ex1 t0", G[1][0], [0.02977, -0.119078, 0.02977, 0.02977, 0.02977])
check("TV2 grad ex1 t1", G[1][1], [0.04, 0.04, 0.04, 0.04, -0.16])
check("TV2 grad ex1 t2", G[1][2], [0.015259, 0.015259, -0.087253, 0.041477, 0.015259])

half = reference_loss(tv2_case("cringe", alpha=0.5))
check("TV2 loss alpha 0.5", half["loss"], 0.780141)
check("TV2 alpha 0.5: negative-row grads halve", half["grad"][0], [[0.5 * v for v in r] for r in G[0]])
check("TV2 alpha 0.5: positive-row grads unchanged", half["grad"][1], G[1])

det = reference_loss(tv2_case("cringe", detach_positive=True))
check("TV2 detached loss", det["loss"], 0.942793)
check("TV2 detached grad ex0 t0", det["grad"][0][0], [0, 0, 0, 0.146212, 0])

for t, want_ids, want_q, want_cr in [(0, [2, 1], [0.731059, 0.268941], [1.313262, 2.126928]),
                                     (1, [1, 0], [0.880797, 0.119203], [0.313262, 1.313262])]:
    row, neg = TV2_LOGITS[0][t], TV2_TARGETS[0][t]
    ids = topk_candidates(row, neg, 2)
    check(f"TV2 k=2 ex0 t{t} candidates", ids, want_ids)
    check(f"TV2 k=2 ex0 t{t} probs", candidate_probs(row, ids), want_q)
    check(f"TV2 k=2 ex0 t{t} Cr", [one_token_cr(row, neg, j)["loss"] for j in ids], want_cr)

# ---------------------------------------------------------------------------------------------
# TV3: unlikelihood on the same batch (negative tokens of ex0)
# ---------------------------------------------------------------------------------------------
p_neg = [float(torch.softmax(torch.tensor(TV2_LOGITS[0][t], dtype=torch.float64), 0)[TV2_TARGETS[0][t]])
         for t in range(2)]
check("TV3 p(neg token)", p_neg, [0.611588, 0.217895])
ul = [reference_loss({"loss": "unlikelihood", "pad_id": -1, "logits": [[TV2_LOGITS[0][t]]],
                      "targets": [[TV2_TARGETS[0][t]]], "labels": [0]})["loss"] for t in range(2)]
check("TV3 UL per token", ul, [0.945689, 0.245766])
check("TV3 MLE sum", sum(ce_ex1), 3.087443)
check("TV3 UL sum", sum(ul), 1.191455)
sep = reference_loss(tv2_case("unlikelihood", normalization="separate"))
check("TV3 separate loss", sep["loss"], 1.624875)
check("TV3 separate grad ex0 t0", sep["grad"][0][0], [-0.023972, -0.065164, -0.177134, 0.305794, -0.039524])
check("TV3 joint loss", reference_loss(tv2_case("unlikelihood"))["loss"], 0.855780)
check("TV3 joint is the default", reference_loss(tv2_case("unlikelihood", normalization="joint"))["loss"],
      0.855780)
# Closed form of the UL gradient (q (delta_jc - p_j) / (1 - q); docs/losses.md, "Unlikelihood"), divided by the 2 UL tokens:
p0 = torch.softmax(torch.tensor(TV2_LOGITS[0][0], dtype=torch.float64), 0).tolist()
q0 = p0[3]
check("TV3 grad matches closed form 3.4 / 2", sep["grad"][0][0],
      [q0 * ((1.0 if j == 3 else 0.0) - p0[j]) / (1 - q0) / 2 for j in range(5)])

# ---------------------------------------------------------------------------------------------
# TV4: Welleck token-level UL (not one of the five policies; a small separate function)
# ---------------------------------------------------------------------------------------------
ul4, mle4, mean4 = welleck_token_ul(
    [[0.1, 0.2, 0.3, 0.4], [0, 1, 0, 0], [0.5, 1.5, -0.5, 0], [1, 0, 2, 0], [0, 0, 0, 3]],
    [1, 2, 1, 3, 2], alpha=1.0)
check("TV4 UL per token", ul4, [0, 0.645056, 0.081638, 1.028573, 2.084877])
check("TV4 MLE per token", mle4, [1.442536, 1.743668, 0.546006, 2.493812, 3.139206])
check("TV4 mean", mean4, 2.641074)

# ---------------------------------------------------------------------------------------------
# TV5: pairwise gate g = sigmoid((b - M) / tau)
# ---------------------------------------------------------------------------------------------
def gate(logp_w, logp_l, b=0.0, tau=1.0):
    m = torch.tensor(float(logp_w - logp_l), dtype=torch.float64, requires_grad=True)
    g = pairwise_gate(m, b, tau)
    (dg,) = torch.autograd.grad(g, m)
    return float(g), float(dg)


g5, dg5 = gate(-3, -2)
check("TV5 g (b 0, tau 1)", g5, 0.731059)
check("TV5 dg/dM", dg5, -0.196612)
check("TV5 g (b -5)", gate(-3, -2, b=-5)[0], 0.017986)
check("TV5 g (tau 5)", gate(-3, -2, tau=5)[0], 0.549834)
check("TV5 g (-10 vs -20)", gate(-10, -20)[0], 0.000045)

# TV5 end to end through reference_loss: two one-token rows whose log-likelihoods are -3 and -2.
# Row logits [0, x] with target 0 have log p = -log(1 + e^x), so x = log(e^L - 1) gives log p = -L.
def row_with_logp(L):
    return [0.0, math.log(math.expm1(L))]


pair_case = {"loss": "pairwise_cringe", "options": {}, "pad_id": -1,
             "logits": [[row_with_logp(3.0)], [row_with_logp(2.0)]], "targets": [[0], [0]],
             "labels": [-1, -1], "pairs": [[0, 1]], "sampled": [[-1], [1]]}
out = reference_loss(pair_case)
ce_w = 3.0
cr_l = float(torch.nn.functional.softplus(torch.tensor(0.0 - math.log(math.expm1(2.0)), dtype=torch.float64)))
check("TV5 end-to-end pairwise loss", out["loss"], (ce_w + 0.731059 * cr_l) / 2, tol=1e-6)
check("TV5 end-to-end N", out["n_supervised"], 2)

# ---------------------------------------------------------------------------------------------
# Edge vectors
# ---------------------------------------------------------------------------------------------
ids = topk_candidates([1, 0, 2], 2, 5)
check("edge V=3 k=5 -> k_eff 2 candidates", ids, [0, 1])
check("edge V=3 probs", candidate_probs([1, 0, 2], ids), [0.731059, 0.268941])
check("edge V=3 Cr", [one_token_cr([1, 0, 2], 2, j)["loss"] for j in ids], [1.313262, 2.126928])
check("edge ties -> lower id", topk_candidates([1, 1, 0, 3], 3, 1), [0])
check("edge non-finite skipped", topk_candidates([float("-inf"), 1, float("nan"), 3], 3, 2), [1])
check("edge none finite", topk_candidates([float("-inf"), float("-inf"), 3], 2, 5), [])

# ---------------------------------------------------------------------------------------------
# Properties stated in words by the spec (not printed numbers)
# ---------------------------------------------------------------------------------------------
# All-pad batch: loss 0, zero gradients, never NaN -- for every loss.
for name in ("cross_entropy", "unlikelihood", "cringe", "pairwise_cringe", "sigmoid_only"):
    c = {"loss": name, "pad_id": 0, "logits": [[[1.0, 2.0, 3.0]] * 2] * 2, "targets": [[0, 0], [0, 0]],
         "labels": [1, 0], "pairs": [[0, 1]], "sampled": [[-1, -1], [1, 2]]}
    o = reference_loss(c)
    check(f"all-pad {name} loss", o["loss"], 0.0, tol=0)
    check(f"all-pad {name} n", o["n_supervised"], 0)
    check(f"all-pad {name} grad", [v for b in o["grad"] for r in b for v in r], [0.0] * 12, tol=0)

# UL clamp active: the term is -log(clamp) and its gradient is exactly zero.
o = reference_loss({"loss": "unlikelihood", "options": {"clamp": 1e-3}, "pad_id": -1,
                    "logits": [[[20.0, 0.0, 0.0]]], "targets": [[0]], "labels": [0]})
check("UL clamp active: loss = -log(clamp)", o["loss"], -math.log(1e-3), tol=1e-12)
check("UL clamp active: zero grad", o["grad"][0][0], [0.0, 0.0, 0.0], tol=0)
check("UL 1e-20 clamp value 46.05", -math.log(1e-20), 46.0517, tol=1e-4)


# Autograd against central finite differences, on random batches, for every option whose gradient
# is the true derivative of the loss (i.e. not the detached variants).
def finite_difference_check(case, h=1e-6, tol=1e-6):
    base = reference_loss(case)["grad"]
    logits = case["logits"]
    worst = 0.0
    for b in range(len(logits)):
        for t in range(len(logits[b])):
            for v in range(len(logits[b][t])):
                x = logits[b][t][v]
                logits[b][t][v] = x + h
                up = reference_loss(case)["loss"]
                logits[b][t][v] = x - h
                down = reference_loss(case)["loss"]
                logits[b][t][v] = x
                fd = (up - down) / (2 * h)
                worst = max(worst, abs(fd - base[b][t][v]) / max(1.0, abs(fd)))
    return worst


rng = random.Random(7)
B, T, V = 3, 3, 5
fd_logits = [[[rng.gauss(0, 2) for _ in range(V)] for _ in range(T)] for _ in range(B)]
fd_targets = [[1, 2, 0], [3, 4, 2], [2, 0, 0]]
fd_sampled = [[2, 0, -1], [4, 3, 1], [-1, -1, -1]]  # != target where used
for name, opts in [("cross_entropy", {}),
                   ("unlikelihood", {"alpha": 2.0}),
                   ("unlikelihood", {"normalization": "separate"}),
                   ("cringe", {"alpha": 0.5}),
                   ("cringe", {"ct_on_positives": True, "normalization": "separate"}),
                   ("pairwise_cringe", {"detach_gate": False, "margin": 0.5, "tau": 2.0}),
                   ("pairwise_cringe", {"detach_gate": False, "loglik": "mean"}),
                   ("sigmoid_only", {"a_pm": 0.5, "a_m": 2.0})]:
    c = {"loss": name, "options": opts, "pad_id": 0, "logits": fd_logits, "targets": fd_targets,
         "labels": [0, 1, -1], "pairs": [[1, 0], [2, 0]], "sampled": fd_sampled}
    check(f"finite differences {name} {opts}", finite_difference_check(c), 0.0, tol=1e-6)

# The non-detached gate adds alpha * Cr * dg/dM * (grad logp_w - grad logp_l) (docs/losses.md, "Pairwise CRINGE"):
# check it as the difference between the two gate modes on the TV5 pair.
pc = dict(pair_case, options={"detach_gate": False})
diff = [a - b for a, b in zip(reference_loss(pc)["grad"][0][0], out["grad"][0][0])]
p_w = torch.softmax(torch.tensor(pair_case["logits"][0][0], dtype=torch.float64), 0).tolist()
grad_logp_w = [(1.0 if j == 0 else 0.0) - p_w[j] for j in range(2)]  # only row 0's logits here
check("TV5 gate-gradient term on the chosen row", diff, [cr_l * dg5 * gj / 2 for gj in grad_logp_w])

# ---------------------------------------------------------------------------------------------
# The committed fixtures (loss_fixtures.json): still what the reference computes, injected positives
# drawn from the spec's candidate set, and autograd = finite differences wherever nothing is detached.
# ---------------------------------------------------------------------------------------------
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss_fixtures.json")
with open(FIXTURES) as f:
    fixture_cases = json.load(f)["cases"]
for case in fixture_cases:
    name, exp = case["name"], case["expected"]
    got = reference_loss(case)
    check(f"fixture {name} loss", got["loss"], exp["loss"], tol=1e-12)
    check(f"fixture {name} n_supervised", got["n_supervised"], exp["n_supervised"])
    flat = lambda g: [v for b in g for r in b for v in r]  # noqa: E731
    check(f"fixture {name} grad", flat(got["grad"]), flat(exp["grad"]), tol=1e-12)
    k = case["options"].get("k", 5)
    for b, row in enumerate(case["sampled"]):
        for t, j in enumerate(row):
            if j >= 0 and j not in topk_candidates(case["logits"][b][t], case["targets"][b][t], k):
                failures.append(f"fixture {name}: sampled[{b}][{t}] = {j} is not a top-{k} candidate")
    opts = case["options"]
    if not opts.get("detach_positive", False) and not (
            case["loss"] == "pairwise_cringe" and opts.get("detach_gate", True)):
        check(f"fixture {name} finite differences", finite_difference_check(case), 0.0, tol=1e-6)

# ---------------------------------------------------------------------------------------------
if failures:
    print(f"FAILED {len(failures)} of {n_checks} checks:")
    for f in failures:
        print("  " + f)
    sys.exit(1)
print(f"all {n_checks} checks passed")
