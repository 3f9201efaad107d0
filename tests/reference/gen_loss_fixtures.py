"""Generates tests/reference/loss_fixtures.json: loss cases with their PyTorch reference results.

Every case is an input of ``cringe-ref loss`` (docs/losses.md, "`cringe-ref loss`: the request format") plus an "expected" block
computed by losses_ref.reference_loss (plain torch ops in float64, gradients by autograd). The C++
tests read the JSON and compare; they never need torch. Regenerate with

    /usr/bin/python3 tests/reference/gen_loss_fixtures.py

The output is deterministic: all randomness comes from Python's ``random.Random(seed).random()``,
whose sequence the Python documentation guarantees across versions (we derive normal deviates from it
ourselves with Box-Muller, because ``random.gauss`` carries no such guarantee). Each case has its own
seed, so adding a case does not change the others. Torch only computes the expected results.
"""

import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ next to the committed files
sys.path.insert(0, HERE)

import torch  # noqa: E402

from losses_ref import candidate_probs, reference_loss, topk_candidates  # noqa: E402

OUT = os.path.join(HERE, "loss_fixtures.json")
LOGIT_STD = 2.0  # logits ~ N(0, 2^2)


def normal(rng, std):
    """One N(0, std^2) deviate from two uniforms (Box-Muller), reproducible across Python versions."""
    u1 = 1.0 - rng.random()  # in (0, 1]: log(u1) is finite
    u2 = rng.random()
    return std * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def draw_positive(rng, row, neg, k):
    """Draw a CRINGE positive the way the spec does: softmax over the top-k candidates (excluding the
    negative), inverse-CDF with one uniform. -1 when there is no candidate."""
    ids = topk_candidates(row, neg, k)
    if not ids:
        return -1
    q = candidate_probs(row, ids)
    u, acc = rng.random(), 0.0
    for j, qj in zip(ids, q):
        acc += qj
        if u < acc:
            return j
    return ids[-1]  # u lands beyond the rounded total


def make_case(name, loss, shape, labels, seed, options=None, pad_id=0, lengths=None, pairs=None,
              pad_positions=(), no_sample=(), edit=None):
    """Build one case.

    shape         (B, T, V)
    labels        [B] sequence labels
    lengths       [B] number of leading non-pad tokens per row (default T); the rest is padding
    pad_positions extra (b, t) positions set to pad_id (padding in the middle of a row)
    no_sample     (b, t) positions whose injected positive is forced to -1 ("no finite candidate")
    edit          function(logits, targets) applied before the positives are drawn (special values)
    """
    rng = random.Random(seed)
    options = dict(options or {})
    B, T, V = shape
    lengths = lengths if lengths is not None else [T] * B
    logits = [[[normal(rng, LOGIT_STD) for _ in range(V)] for _ in range(T)] for _ in range(B)]
    non_pad_ids = [i for i in range(V) if i != pad_id]
    targets = [[rng.choice(non_pad_ids) if t < lengths[b] else pad_id for t in range(T)]
               for b in range(B)]
    for b, t in pad_positions:
        targets[b][t] = pad_id
    if edit is not None:
        edit(logits, targets)

    # Injected positives, only where a contrastive term is applied; -1 everywhere else.
    k = options.get("k", 5)
    sampled = [[-1] * T for _ in range(B)]
    if loss == "cringe":
        ct_labels = {0, 1} if options.get("ct_on_positives", False) else {0}
        ct_rows = [b for b in range(B) if labels[b] in ct_labels]
    elif loss == "pairwise_cringe":
        ct_rows = sorted({l for _, l in pairs})
    else:
        ct_rows = []
    for b in ct_rows:
        for t in range(T):
            if targets[b][t] != pad_id and (b, t) not in no_sample:
                sampled[b][t] = draw_positive(rng, logits[b][t], targets[b][t], k)

    case = {"name": name, "loss": loss, "options": options, "pad_id": pad_id, "logits": logits,
            "targets": targets, "labels": labels}
    if pairs is not None:
        case["pairs"] = pairs
    case["sampled"] = sampled
    case["dtype"] = "float64"
    case["expected"] = reference_loss(case)
    return case


def big_negative_logit(b, t, value=20.0):
    """edit hook: give the target of (b, t) a logit of +value, so that p(target) ~ 1."""
    def edit(logits, targets):
        logits[b][t][targets[b][t]] = value
    return edit


def cases():
    C = []
    add = C.append
    # ---- cross_entropy: positive and unlabeled rows get CE, negatives are ignored ----------------
    add(make_case("ce_1x1x2", "cross_entropy", (1, 1, 2), [1], 101))
    add(make_case("ce_2x3x5_pad", "cross_entropy", (2, 3, 5), [1, -1], 102, lengths=[2, 3]))
    add(make_case("ce_3x4x7_negatives_ignored", "cross_entropy", (3, 4, 7), [0, 1, -1], 103,
                  lengths=[4, 3, 2]))
    add(make_case("ce_2x5x16_pad_id3_mid_pad", "cross_entropy", (2, 5, 16), [1, -1], 104, pad_id=3,
                  lengths=[5, 4], pad_positions=[(0, 2)]))
    add(make_case("ce_only_negatives", "cross_entropy", (2, 3, 5), [0, 0], 105))
    add(make_case("ce_all_pad", "cross_entropy", (2, 3, 5), [1, -1], 106, lengths=[0, 0]))
    # ---- unlikelihood ------------------------------------------------------------------------
    add(make_case("ul_1x1x2_negative", "unlikelihood", (1, 1, 2), [0], 201))
    add(make_case("ul_2x3x5_joint", "unlikelihood", (2, 3, 5), [0, 1], 202, lengths=[2, 3]))
    add(make_case("ul_3x4x7_separate_alpha0.5", "unlikelihood", (3, 4, 7), [0, 1, -1], 203,
                  options={"alpha": 0.5, "normalization": "separate"}, lengths=[3, 4, 2]))
    add(make_case("ul_2x5x16_joint_alpha2", "unlikelihood", (2, 5, 16), [1, 0], 204,
                  options={"alpha": 2.0, "normalization": "joint"}, lengths=[5, 4]))
    add(make_case("ul_clamp_active", "unlikelihood", (2, 3, 5), [0, 1], 205,
                  options={"clamp": 1e-3}, edit=big_negative_logit(0, 1)))
    add(make_case("ul_clamp_active_separate", "unlikelihood", (2, 3, 5), [0, -1], 206,
                  options={"clamp": 1e-3, "normalization": "separate", "alpha": 2.0},
                  edit=big_negative_logit(0, 0)))
    add(make_case("ul_no_negatives_separate", "unlikelihood", (2, 3, 5), [1, -1], 207,
                  options={"normalization": "separate"}))
    add(make_case("ul_no_positives_separate", "unlikelihood", (2, 3, 5), [0, 0], 208,
                  options={"normalization": "separate"}, lengths=[3, 1]))
    # ---- cringe ------------------------------------------------------------------------------
    add(make_case("cringe_1x1x2_k5_keff1", "cringe", (1, 1, 2), [0], 301, options={"k": 5}))
    add(make_case("cringe_2x3x5_default", "cringe", (2, 3, 5), [0, 1], 302, lengths=[2, 3]))
    add(make_case("cringe_3x4x7_alpha0.5_k1", "cringe", (3, 4, 7), [0, 1, -1], 303,
                  options={"alpha": 0.5, "k": 1}, lengths=[4, 3, 4]))
    add(make_case("cringe_2x5x16_alpha2_separate", "cringe", (2, 5, 16), [0, 1], 304,
                  options={"alpha": 2.0, "normalization": "separate"}, lengths=[4, 5]))
    add(make_case("cringe_3x4x7_detach_positive", "cringe", (3, 4, 7), [0, 0, 1], 305,
                  options={"detach_positive": True}, lengths=[4, 2, 3]))
    add(make_case("cringe_3x4x7_ct_on_positives", "cringe", (3, 4, 7), [0, 1, -1], 306,
                  options={"ct_on_positives": True}, lengths=[3, 4, 2]))
    add(make_case("cringe_3x4x7_ct_on_pos_no_ce_on_pos_separate", "cringe", (3, 4, 7), [1, 0, -1], 307,
                  options={"ct_on_positives": True, "ce_on_positives": False,
                           "normalization": "separate", "alpha": 0.5}, lengths=[4, 3, 3]))
    add(make_case("cringe_3x4x7_no_ce_on_positives_k2", "cringe", (3, 4, 7), [1, 0, -1], 308,
                  options={"ce_on_positives": False, "k": 2}, lengths=[4, 4, 3]))
    add(make_case("cringe_sampled_minus_one", "cringe", (2, 4, 7), [0, 1], 309,
                  no_sample=[(0, 1), (0, 3)]))
    add(make_case("cringe_no_negatives", "cringe", (2, 3, 5), [1, -1], 310))
    add(make_case("cringe_no_positives_separate", "cringe", (2, 3, 5), [0, 0], 311,
                  options={"normalization": "separate"}, lengths=[3, 2]))
    add(make_case("cringe_pad_only_row", "cringe", (3, 3, 5), [0, 1, 0], 312, lengths=[3, 2, 0]))
    add(make_case("cringe_all_pad", "cringe", (2, 3, 5), [0, 1], 313, lengths=[0, 0]))
    # ---- pairwise_cringe ([M] reconstruction) -----------------------------------------------
    add(make_case("pairwise_2x3x5_default", "pairwise_cringe", (2, 3, 5), [1, 0], 401,
                  pairs=[[0, 1]], lengths=[3, 2]))
    add(make_case("pairwise_4x4x7_alpha0.5_shared_row", "pairwise_cringe", (4, 4, 7), [-1, -1, 1, 0], 402,
                  options={"alpha": 0.5}, pairs=[[0, 1], [2, 3], [0, 3]], lengths=[4, 3, 2, 4]))
    add(make_case("pairwise_3x4x7_gate_not_detached_margin1_tau2", "pairwise_cringe", (3, 4, 7),
                  [0, 1, 0], 403, options={"detach_gate": False, "margin": 1.0, "tau": 2.0},
                  pairs=[[1, 0], [1, 2]], lengths=[4, 3, 2], no_sample=[(2, 1)]))
    add(make_case("pairwise_2x5x16_loglik_mean", "pairwise_cringe", (2, 5, 16), [1, 0], 404,
                  options={"loglik": "mean", "detach_gate": False, "margin": -0.5, "tau": 0.5, "k": 2},
                  pairs=[[0, 1]], lengths=[5, 3]))
    add(make_case("pairwise_unpaired_row_and_pad_rejected", "pairwise_cringe", (3, 3, 5), [1, 1, 0], 405,
                  options={"loglik": "mean", "alpha": 2.0, "margin": 2.0}, pairs=[[0, 2]],
                  lengths=[3, 3, 0]))
    add(make_case("pairwise_all_pad", "pairwise_cringe", (2, 3, 5), [1, 0], 406, pairs=[[0, 1]],
                  lengths=[0, 0]))
    # ---- sigmoid_only --------------------------------------------------------------------------
    add(make_case("sigmoid_1x1x2", "sigmoid_only", (1, 1, 2), [1], 501))
    add(make_case("sigmoid_2x3x5_default", "sigmoid_only", (2, 3, 5), [0, 1], 502, lengths=[3, 2]))
    add(make_case("sigmoid_3x4x7_apm0.5_am2", "sigmoid_only", (3, 4, 7), [0, 1, -1], 503,
                  options={"a_pm": 0.5, "a_m": 2.0}, lengths=[4, 2, 3]))
    add(make_case("sigmoid_2x5x16_apm0.1", "sigmoid_only", (2, 5, 16), [-1, 0], 504,
                  options={"a_pm": 0.1}, lengths=[5, 4]))
    add(make_case("sigmoid_all_pad", "sigmoid_only", (2, 3, 5), [0, 1], 505, lengths=[0, 0]))
    return C


def dumps(obj, indent=0):
    """JSON with one innermost list of numbers per line (readable diffs), floats at full precision
    (Python's repr: the shortest text that reads back to the same double)."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else "{}"
    if isinstance(obj, list) and obj and all(isinstance(x, (list, dict)) for x in obj):
        return "[\n" + ",\n".join(inner + dumps(x, indent + 1) for x in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False, separators=(", ", ": "))


def main():
    all_cases = cases()
    names = [c["name"] for c in all_cases]
    assert len(set(names)) == len(names), "case names must be unique"
    doc = {"generator": "tests/reference/gen_loss_fixtures.py",
           "torch_version": torch.__version__,
           "cases": all_cases}
    text = dumps(doc) + "\n"
    assert json.loads(text) == json.loads(json.dumps(doc)), "custom writer must round-trip"
    with open(OUT, "w") as f:
        f.write(text)
    by_loss = {}
    for c in all_cases:
        by_loss[c["loss"]] = by_loss.get(c["loss"], 0) + 1
    print(f"wrote {OUT}: {len(all_cases)} cases {by_loss}, {len(text)} bytes")


if __name__ == "__main__":
    main()
