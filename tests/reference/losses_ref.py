"""Independent PyTorch reference for cringe's five training losses.

This module is the *second opinion* for the C++ library: it computes every loss of the project's loss specification
(restated in docs/losses.md) with plain torch ops in float64, and gets d loss / d logits from
torch.autograd -- never from a hand-written closed form. The C++ library derives its backward passes
by hand; agreeing with autograd on the same numbers is what makes the check independent.

Entry points: ``reference_loss(case)`` and ``loss_on_logits(logits_tensor, case)`` (the same loss
on a logits tensor that may sit inside a larger autograd graph, as in gpt2_ref.py), where ``case``
is a dict in the input format of ``cringe-ref loss`` (docs/losses.md, "`cringe-ref loss`: the request format"):

    {"loss": "cross_entropy" | "unlikelihood" | "cringe" | "pairwise_cringe" | "sigmoid_only",
     "options": {...}, "pad_id": 0,
     "logits":  [B][T][V] floats,
     "targets": [B][T] ints,
     "labels":  [B] ints in {-1 unlabeled, 0 negative, 1 positive},
     "pairs":   [[chosen_row, rejected_row], ...]      (pairwise_cringe only)
     "sampled": [B][T] ints, -1 where none             (the CRINGE positives, injected)
     "dtype": "float64"}

and the result is ``{"loss": float, "grad": [B][T][V] nested list, "n_supervised": int}``.

Shapes used in the comments below:
    s       [B, T, V]  logits (the leaf we differentiate with respect to)
    y       [B, T]     target ids
    c       [B]        sequence labels, broadcast to [B, T] as ``lab``
    sampled [B, T]     injected positive ids for the contrastive term (-1 = none)
    tok     [B, T]     bool, y != pad_id  (a token can only be supervised if it is not padding)

The reference never samples: CRINGE's random draw is outside the differentiated function, so the
tests inject the drawn ids (``sampled``). The helpers ``topk_candidates`` / ``candidate_probs``
reproduce the spec's candidate set and sampling distribution so that the generator of fixtures (and
the spec's test vectors) can be checked against them.

Requires only torch (Debian: ``apt-get install python3-torch``). Run with /usr/bin/python3.
"""

import math

import torch
import torch.nn.functional as F

DTYPE = torch.float64

LOSSES = ("cross_entropy", "unlikelihood", "cringe", "pairwise_cringe", "sigmoid_only")

# Defaults of every option, per policy (docs/losses.md, each policy's options table).
DEFAULTS = {
    "cross_entropy": {},
    "unlikelihood": {"alpha": 1.0, "clamp": 1e-20, "normalization": "joint"},
    "cringe": {
        "alpha": 1.0,
        "k": 5,  # only used to *draw* the positives; unused here because they are injected
        "detach_positive": False,
        "normalization": "joint",
        "ce_on_positives": True,
        "ct_on_positives": False,
    },
    "pairwise_cringe": {
        "alpha": 1.0,
        "k": 5,  # as for cringe: only for drawing the positives
        "margin": 0.0,
        "tau": 1.0,
        "detach_gate": True,
        "loglik": "sum",
    },
    "sigmoid_only": {"a_pm": 1.0, "a_m": 1.0},
}

# The oracle accepts one shared "options" object; a key that belongs to another policy is ignored,
# a key that belongs to no policy is a typo and is rejected.
KNOWN_OPTIONS = set().union(*(d.keys() for d in DEFAULTS.values()))


# ---------------------------------------------------------------------------------------------
# Candidate set and sampling distribution of CRINGE (docs/losses.md, "CRINGE", Sampling)
# ---------------------------------------------------------------------------------------------

def topk_candidates(row, neg, k):
    """Ids of the CRINGE positive candidates for one row of logits.

    row : sequence of V floats (the logits of one position)
    neg : the negative (target) id, never a candidate
    k   : requested number of candidates

    Rules (docs/losses.md, "CRINGE" and "Edge cases"): order by logit descending, ties broken by the lower id; the negative token is
    excluded; non-finite logits are skipped (we pass over them to the next finite one); at most
    k_eff = min(k, V - 1) candidates, fewer if fewer finite ones exist (possibly none).
    """
    row = [float(v) for v in row]
    V = len(row)
    k_eff = min(k, V - 1)
    ids = [i for i in range(V) if i != neg and math.isfinite(row[i])]
    ids.sort(key=lambda i: (-row[i], i))
    return ids[:k_eff]


def candidate_probs(row, ids):
    """Sampling probabilities over the candidates: softmax of their raw logits (temperature 1)."""
    if not ids:
        return []
    z = torch.tensor([float(row[i]) for i in ids], dtype=DTYPE)
    return torch.softmax(z, dim=0).tolist()


# ---------------------------------------------------------------------------------------------
# Input parsing
# ---------------------------------------------------------------------------------------------

def _options(case):
    """The case's options merged over the policy defaults (unknown keys are an error)."""
    name = case["loss"]
    if name not in DEFAULTS:
        raise ValueError(f"loss: expected one of {LOSSES}, got {name!r}")
    given = dict(case.get("options") or {})
    unknown = set(given) - KNOWN_OPTIONS
    if unknown:
        raise ValueError(f"options: unknown key(s) {sorted(unknown)}")
    opts = dict(DEFAULTS[name])
    opts.update({key: given[key] for key in given if key in opts})
    if "normalization" in opts and opts["normalization"] not in ("joint", "separate"):
        raise ValueError(f"options.normalization: expected 'joint' or 'separate', got {opts['normalization']!r}")
    if "loglik" in opts and opts["loglik"] not in ("sum", "mean"):
        raise ValueError(f"options.loglik: expected 'sum' or 'mean', got {opts['loglik']!r}")
    return opts


def _tensors(case):
    """Turn the JSON lists into tensors and check shapes and id ranges."""
    dtype = case.get("dtype", "float64")
    if dtype != "float64":
        raise ValueError(f"dtype: this reference computes in float64 only, got {dtype!r}")
    s = torch.tensor(case["logits"], dtype=DTYPE)
    if s.dim() != 3:
        raise ValueError(f"logits: expected [B][T][V], got {s.dim()} dimensions")
    y, c, sampled, pad_id = _supervision(case, *s.shape)
    return s, y, c, sampled, pad_id


def _supervision(case, B, T, V):
    """targets, labels, sampled and pad_id of a case as tensors, checked against logits [B, T, V]."""
    y = torch.tensor(case["targets"], dtype=torch.long).reshape(B, T)
    c = torch.tensor(case["labels"], dtype=torch.long).reshape(B)
    sampled = case.get("sampled")
    if sampled is None:
        sampled = torch.full((B, T), -1, dtype=torch.long)
    else:
        sampled = torch.tensor(sampled, dtype=torch.long).reshape(B, T)
    pad_id = int(case.get("pad_id", 0))
    if ((y < 0) | (y >= V)).any():
        raise ValueError("targets: ids must lie in [0, V)")
    if ((sampled < -1) | (sampled >= V)).any():
        raise ValueError("sampled: ids must lie in [0, V) or be -1")
    if not ((c == -1) | (c == 0) | (c == 1)).all():
        raise ValueError("labels: values must be -1, 0 or 1")
    return y, c, sampled, pad_id


# ---------------------------------------------------------------------------------------------
# The five losses. Each takes the leaf s [B,T,V] (requires_grad) and returns (loss, n_supervised),
# loss being a 0-d tensor built from torch ops (or a plain 0.0 when nothing is supervised).
# ---------------------------------------------------------------------------------------------

def _per_token_ce(s, y):
    """CE_t = logsumexp(s_t) - s_t[y_t], shape [B, T] (computed for every position, pad included)."""
    return torch.logsumexp(s, dim=-1) - s.gather(-1, y.unsqueeze(-1)).squeeze(-1)


def _target_logit(s, y):
    """s[b, t, y[b, t]], shape [B, T]."""
    return s.gather(-1, y.unsqueeze(-1)).squeeze(-1)


def _normalise(sum_a, n_a, sum_b, n_b, alpha, n_joint, normalization):
    """Combine a CE-like sum and a penalty sum.

    joint    : (sum_a + alpha * sum_b) / n_joint            (0 if n_joint == 0)
    separate : sum_a / n_a + alpha * sum_b / n_b            (each term only if its count > 0)
    """
    if normalization == "joint":
        return (sum_a + alpha * sum_b) / n_joint if n_joint > 0 else 0.0
    loss = 0.0
    if n_a > 0:
        loss = loss + sum_a / n_a
    if n_b > 0:
        loss = loss + alpha * sum_b / n_b
    return loss


def _cross_entropy(s, y, lab, tok, sampled, opts):
    # CE on positive (1) and unlabeled (-1) sequences; negatives (0) are ignored entirely.
    mask_ce = tok & (lab != 0)
    n = int(mask_ce.sum())
    if n == 0:
        return 0.0, 0
    ce = _per_token_ce(s, y)
    return ce[mask_ce].sum() / n, n


def _unlikelihood(s, y, lab, tok, sampled, opts):
    mask_ce = tok & (lab != 0)
    mask_ul = tok & (lab == 0)
    n_ce, n_ul = int(mask_ce.sum()), int(mask_ul.sum())

    ce = _per_token_ce(s, y)
    # UL_t = -log(max(1 - p(y_t), clamp)). 1 - p is computed as -expm1(log p) so that it keeps its
    # relative precision when p is close to 1. torch.clamp has zero gradient below `min`, so when the
    # clamp is active the term is the constant -log(clamp) with zero gradient (docs/losses.md, "Unlikelihood").
    logp_y = torch.log_softmax(s, dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
    one_minus_p = -torch.expm1(logp_y)
    ul = -torch.log(torch.clamp(one_minus_p, min=opts["clamp"]))

    loss = _normalise(ce[mask_ce].sum(), n_ce, ul[mask_ul].sum(), n_ul,
                      opts["alpha"], n_ce + n_ul, opts["normalization"])
    return loss, n_ce + n_ul


def _cringe(s, y, lab, tok, sampled, opts):
    # Which tokens get which term (ParlAI ContrastiveCrossEntropyLoss; docs/losses.md, "Normalisation" and "CRINGE"):
    #   CE : unlabeled tokens, and positive tokens unless ce_on_positives is false;
    #   CT : negative tokens, and positive tokens too if ct_on_positives is true.
    # A token is supervised if it gets either term; it is counted once in the joint denominator.
    is_ce_label = (lab == -1) | ((lab == 1) if opts["ce_on_positives"] else torch.zeros_like(tok))
    mask_ce = tok & is_ce_label
    mask_ct_neg = tok & (lab == 0)
    mask_ct_pos = tok & (lab == 1) if opts["ct_on_positives"] else torch.zeros_like(tok)
    mask_ct = mask_ct_neg | mask_ct_pos
    n_ce, n_ct = int(mask_ce.sum()), int(mask_ct.sum())
    n_sup = int((mask_ce | mask_ct).sum())

    # A supervised CT token whose sampled id is -1 (no finite candidate) contributes 0 but is still
    # counted in n_ct / n_sup.
    has_sample = sampled >= 0

    ce = _per_token_ce(s, y)
    s_y = _target_logit(s, y)
    s_pos = _target_logit(s, sampled.clamp(min=0))  # the sampled logit (index 0 where sampled=-1)
    if opts["detach_positive"]:
        s_pos = s_pos.detach()  # stop gradient into the sampled logit (ParlAI detaches it in both uses)
    # Negative tokens: the target is the bad token, the sampled one is the positive class.
    cr_neg = F.softplus(s_y - s_pos)
    # Positive tokens (ct_on_positives): the target is the positive class, the sampled one is contrasted.
    cr_pos = F.softplus(s_pos - s_y)

    sum_ct = cr_neg[mask_ct_neg & has_sample].sum() + cr_pos[mask_ct_pos & has_sample].sum()
    loss = _normalise(ce[mask_ce].sum(), n_ce, sum_ct, n_ct,
                      opts["alpha"], n_sup, opts["normalization"])
    return loss, n_sup


def pairwise_gate(margin_m, margin=0.0, tau=1.0):
    """g = sigmoid((b - M) / tau), docs/losses.md, "Pairwise CRINGE" (tensor in, tensor out)."""
    return torch.sigmoid((margin - margin_m) / tau)


def _pairwise_cringe(s, y, lab, tok, sampled, opts, pairs):
    # [M] reconstruction, not paper-verified (docs/losses.md, "Pairwise CRINGE"). Labels are ignored; only rows named in
    # a pair contribute. For each pair (w, l):
    #   logp_r = sum_t log p(y_rt) over non-pad tokens of row r   ("mean": divided by their count)
    #   M = logp_w - logp_l,  g = sigmoid((margin - M) / tau)  (detached unless detach_gate is false)
    #   term = CE_sum(w) + alpha * g * Cr_sum(l),  Cr on row l = softplus(s[y] - s[sampled])
    # loss = sum of terms / N,  N = non-pad tokens of all chosen and rejected rows (with repetition).
    B = s.shape[0]
    logp_y = torch.log_softmax(s, dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)  # [B, T]
    ce = _per_token_ce(s, y)                                                     # [B, T]
    cr = F.softplus(_target_logit(s, y) - _target_logit(s, sampled.clamp(min=0)))  # [B, T]
    has_sample = sampled >= 0

    def loglik(r):
        n_r = int(tok[r].sum())
        total = logp_y[r][tok[r]].sum()
        if opts["loglik"] == "mean":
            return total / n_r if n_r > 0 else total  # an all-pad row has log-likelihood 0
        return total

    total, n = 0.0, 0
    for pair in pairs:
        w, l = int(pair[0]), int(pair[1])
        if not (0 <= w < B and 0 <= l < B):
            raise ValueError(f"pairs: row ids must lie in [0, {B}), got {pair}")
        margin_m = loglik(w) - loglik(l)
        g = pairwise_gate(margin_m, opts["margin"], opts["tau"])
        if opts["detach_gate"]:
            g = g.detach()
        ce_sum_w = ce[w][tok[w]].sum()
        cr_sum_l = cr[l][tok[l] & has_sample[l]].sum()
        total = total + ce_sum_w + opts["alpha"] * g * cr_sum_l
        n += int(tok[w].sum()) + int(tok[l].sum())
    if n == 0:
        return 0.0, 0
    return total / n, n


def _sigmoid_only(s, y, lab, tok, sampled, opts):
    # Per-token sigmoids instead of a softmax (the paper's "Sigmoid-only" baseline, docs/losses.md, "Sigmoid-only"):
    #   positive / unlabeled token: softplus(-s[y]) + a_pm * sum_{x != y} softplus(s[x])
    #       (-log sigmoid(z) = softplus(-z), -log(1 - sigmoid(z)) = softplus(z))
    #   negative token:             a_m * softplus(s[y])
    # loss = sum over all non-pad tokens / their count.
    s_y = _target_logit(s, y)
    is_target = F.one_hot(y, s.shape[-1]).bool()                          # [B, T, V]
    others = F.softplus(s).masked_fill(is_target, 0.0).sum(dim=-1)        # [B, T]
    l_pos = F.softplus(-s_y) + opts["a_pm"] * others
    l_neg = opts["a_m"] * F.softplus(s_y)
    mask_pos = tok & (lab != 0)
    mask_neg = tok & (lab == 0)
    n = int(tok.sum())
    if n == 0:
        return 0.0, 0
    return (l_pos[mask_pos].sum() + l_neg[mask_neg].sum()) / n, n


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

def loss_on_logits(s, case):
    """The case's loss as a function of a logits tensor ``s`` [B, T, V] (float64).

    ``s`` may be any tensor in an autograd graph (e.g. a model's output, see gpt2_ref.py); the
    ``logits`` field of ``case`` is ignored, everything else (loss, options, pad_id, targets, labels,
    pairs, sampled) is read from it. Returns ``(loss, n_supervised)``; ``loss`` is a 0-d tensor built
    from torch ops, or the plain float 0.0 when nothing is supervised.
    """
    if s.dim() != 3:
        raise ValueError(f"logits: expected [B][T][V], got {s.dim()} dimensions")
    opts = _options(case)
    B, T, V = s.shape
    y, c, sampled, pad_id = _supervision(case, B, T, V)
    tok = y != pad_id                      # [B, T]
    lab = c.unsqueeze(1).expand(B, T)      # the sequence label applies to every token

    name = case["loss"]
    if name == "cross_entropy":
        return _cross_entropy(s, y, lab, tok, sampled, opts)
    if name == "unlikelihood":
        return _unlikelihood(s, y, lab, tok, sampled, opts)
    if name == "cringe":
        return _cringe(s, y, lab, tok, sampled, opts)
    if name == "pairwise_cringe":
        if "pairs" not in case:
            raise ValueError("pairs: required for pairwise_cringe")
        return _pairwise_cringe(s, y, lab, tok, sampled, opts, case["pairs"])
    return _sigmoid_only(s, y, lab, tok, sampled, opts)


def reference_loss(case):
    """Loss, gradient w.r.t. the logits (by autograd) and number of supervised tokens."""
    _options(case)  # reject a bad loss name or option before touching the tensors
    s, _, _, _, _ = _tensors(case)
    s.requires_grad_(True)
    loss, n = loss_on_logits(s, case)

    if torch.is_tensor(loss) and loss.requires_grad:
        (grad,) = torch.autograd.grad(loss, s)
        value = float(loss)
    else:  # nothing supervised (or nothing differentiable): loss 0, zero gradient, never NaN
        grad = torch.zeros_like(s)
        value = float(loss)
    return {"loss": value, "grad": grad.tolist(), "n_supervised": n}


# ---------------------------------------------------------------------------------------------
# Not one of the five policies: Welleck et al. (2019) token-level unlikelihood, for test vector TV4.
# ---------------------------------------------------------------------------------------------

def welleck_token_ul(logits, targets, alpha=1.0, clamp=1e-5, pad_id=None):
    """Token-level UL with previous-context candidates, one sequence (Welleck et al. 2019, with the
    specification's fixes: per-sequence context, pad excluded; docs/losses.md, "Cross-implementation
    fixtures and the spec's test vectors", TV4).

    logits [T][V], targets [T]. Candidates at t: the *set* of earlier targets minus the current one
    (per sequence, pad excluded). Returns (per-token UL list, per-token MLE list, mean of MLE + alpha UL
    over non-pad tokens). No gradient; it only serves the test vector.
    """
    s = torch.tensor(logits, dtype=DTYPE)
    logp = torch.log_softmax(s, dim=-1)
    ul_list, mle_list, seen = [], [], []
    for t, yt in enumerate(targets):
        if pad_id is not None and yt == pad_id:
            continue
        cands = sorted(set(seen) - {yt})
        one_minus_p = -torch.expm1(logp[t, cands]) if cands else torch.zeros(0, dtype=DTYPE)
        ul_list.append(float(-torch.log(torch.clamp(one_minus_p, min=clamp)).sum()))
        mle_list.append(float(-logp[t, yt]))
        seen.append(yt)
    n = len(mle_list)
    mean = sum(m + alpha * u for m, u in zip(mle_list, ul_list)) / n if n else 0.0
    return ul_list, mle_list, mean
