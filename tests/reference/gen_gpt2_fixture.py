"""Generates the GPT-2 fixture: a tiny model and its PyTorch reference logits, losses and gradients.

Writes
    tests/reference/gpt2_tiny/config.json        Hugging Face GPT-2 config (V 11, P 8, C 8, L 2, H 2)
    tests/reference/gpt2_tiny/model.safetensors  its parameters, F64, Hugging Face names
    tests/reference/gpt2_fixture.json            logits of a fixed batch, and for two loss cases
                                                 (cross-entropy, CRINGE) the loss and its gradient
                                                 with respect to every parameter

all computed by gpt2_ref.py (plain torch ops, float64, torch.autograd) with the losses of
losses_ref.py applied to the model's logits inside the autograd graph. The C++ tests load the model
directory with the library's own reader, run the C++ model and compare; they never need torch.
Regenerate with

    /usr/bin/python3 tests/reference/gen_gpt2_fixture.py

Before writing, the script checks itself (assertions): the safetensors file reads back bit-exactly,
the logits agree with a second formulation built from torch.nn.functional (F.embedding, F.layer_norm,
F.linear, F.gelu(approximate="tanh"), attention one head and one query at a time over the visible
prefix, no mask), the CE loss agrees with F.cross_entropy, the parameter gradients agree with the
chain rule through the logit gradients of losses_ref.reference_loss, and several entries of every
parameter's gradient agree with central finite differences.

Deterministic: parameters come from a torch.Generator with a fixed seed (the same torch version gives
the same file byte for byte; the fixture records torch_version), tokens from random.Random.
"""

import hashlib
import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ next to the committed files
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from gen_loss_fixtures import dumps  # noqa: E402
from gpt2_ref import (forward, init_params, load_model, param_shapes, read_safetensors,  # noqa: E402
                      save_model)
from losses_ref import loss_on_logits, reference_loss, topk_candidates  # noqa: E402

MODEL_DIR_REL = "tests/reference/gpt2_tiny"
MODEL_DIR = os.path.join(HERE, "gpt2_tiny")
OUT = os.path.join(HERE, "gpt2_fixture.json")

PARAM_SEED = 20240607   # torch.Generator seed of the parameters
TOKEN_SEED = 611        # random.Random seed of the batch
PERTURB_STD = 0.1       # noise on biases and LayerNorm parameters (so none is a constant)
STD_SCALE = 10.0        # weights ~ N(0, 0.2^2), c_proj N(0, 0.1^2): attention far from uniform
PAD_ID = 0
B, T = 2, 6
CRINGE_K = 5

# Hugging Face GPT-2 config.json (written with sorted keys, indent 2, as save_pretrained does).
CONFIG = {
    "activation_function": "gelu_new",
    "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.0,
    "embd_pdrop": 0.0,
    "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05,
    "model_type": "gpt2",
    "n_ctx": 8,
    "n_embd": 8,
    "n_head": 2,
    "n_inner": None,
    "n_layer": 2,
    "n_positions": 8,
    "resid_pdrop": 0.0,
    "scale_attn_by_inverse_layer_idx": False,
    "scale_attn_weights": True,
    "tie_word_embeddings": True,
    "torch_dtype": "float64",
    "vocab_size": 11,
}


def make_batch():
    """tokens [B][T] and next-token targets [B][T]. Each row is a sequence of T + 1 ids drawn from
    [1, V) (so pad_id 0 never appears as a real token); row 1 ends with two pads, i.e. its last two
    targets are pad and its last input token is the pad id."""
    rng = random.Random(TOKEN_SEED)
    V = CONFIG["vocab_size"]
    seqs = [[rng.randrange(1, V) for _ in range(T + 1)] for _ in range(B)]
    seqs[1][T - 1:] = [PAD_ID, PAD_ID]
    tokens = [s[:T] for s in seqs]
    targets = [s[1:] for s in seqs]
    return tokens, targets


def pick_sampled(logits, targets, labels):
    """CRINGE positives for the negative rows, by a fixed rule instead of a random draw: at position
    t the candidate of rank t mod n among the spec's top-k (k = 5, target excluded, ties to the
    lower id) less the pad id (the spec does not exclude it, but a positive that is the pad token
    would make the fixture depend on that choice), so that several ranks occur. -1 on pad and on
    rows that are not negative."""
    sampled = [[-1] * T for _ in range(B)]
    for b in range(B):
        if labels[b] != 0:
            continue
        for t in range(T):
            if targets[b][t] != PAD_ID:
                ids = [i for i in topk_candidates(logits[b][t], targets[b][t], CRINGE_K) if i != PAD_ID]
                sampled[b][t] = ids[t % len(ids)]
    return sampled


def loss_and_grads(params, case, tokens):
    """(loss, n_supervised, {name: grad}) of the case's loss on the model's logits, by autograd."""
    leaves = {n: t.detach().clone().requires_grad_(True) for n, t in params.items()}
    loss, n = loss_on_logits(forward(leaves, CONFIG, tokens), case)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return float(loss), n, dict(zip(leaves, grads))


# ---------------------------------------------------------------------------------------------
# Self-checks
# ---------------------------------------------------------------------------------------------

def forward_functional(params, config, tokens):
    """The same network in a second formulation: torch.nn.functional building blocks, nn.Linear
    orientation (F.linear with W^T), attention one head and one query position at a time over the
    keys it can see (no mask), heads concatenated with torch.cat."""
    p, eps, H = params, config["layer_norm_epsilon"], config["n_head"]
    tokens = torch.as_tensor(tokens)
    Bn, Tn = tokens.shape
    C = config["n_embd"]
    D = C // H
    x = F.embedding(tokens, p["transformer.wte.weight"]) + \
        F.embedding(torch.arange(Tn), p["transformer.wpe.weight"]).unsqueeze(0)
    for i in range(config["n_layer"]):
        h = f"transformer.h.{i}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], eps)
        qkv = F.linear(a, p[h + "attn.c_attn.weight"].t(), p[h + "attn.c_attn.bias"])
        rows = []
        for b in range(Bn):
            heads = []
            for hd in range(H):
                q = qkv[b, :, hd * D:(hd + 1) * D]
                k = qkv[b, :, C + hd * D:C + (hd + 1) * D]
                v = qkv[b, :, 2 * C + hd * D:2 * C + (hd + 1) * D]
                outs = []
                for t in range(Tn):
                    w = F.softmax((k[:t + 1] * q[t]).sum(-1) / math.sqrt(D), dim=0)  # [t + 1]
                    outs.append((w.unsqueeze(1) * v[:t + 1]).sum(0))
                heads.append(torch.stack(outs))                                       # [T, D]
            rows.append(torch.cat(heads, dim=1))                                      # [T, C]
        y = torch.stack(rows)
        x = x + F.linear(y, p[h + "attn.c_proj.weight"].t(), p[h + "attn.c_proj.bias"])
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], eps)
        u = F.gelu(F.linear(m, p[h + "mlp.c_fc.weight"].t(), p[h + "mlp.c_fc.bias"]), approximate="tanh")
        x = x + F.linear(u, p[h + "mlp.c_proj.weight"].t(), p[h + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    return F.linear(x, p["transformer.wte.weight"])


def check_checkpoint(params):
    path = os.path.join(MODEL_DIR, "model.safetensors")
    with open(path, "rb") as f:
        head = f.read(8)
    n = int.from_bytes(head, "little")
    assert n % 8 == 0, "header length must be a multiple of 8"
    raw, meta = read_safetensors(path, with_metadata=True)
    assert meta == {"format": "pt"}, meta
    assert list(raw) == list(params), "tensors must be stored in the order written"
    loaded, cfg = load_model(MODEL_DIR)
    for name in params:
        assert raw[name].dtype == torch.float64
        assert torch.equal(raw[name], params[name]) and torch.equal(loaded[name], params[name]), name
    assert cfg["layer_norm_epsilon"] == 1e-5
    for name, t in params.items():
        assert float(t.std()) > 1e-3, f"{name} is (nearly) constant"


def check_logits(params, tokens, logits):
    alt = forward_functional(params, CONFIG, tokens)
    err = float((alt - logits).abs().max())
    assert err < 1e-12, f"logits differ from the functional formulation by {err}"
    return err


def check_case(params, tokens, logits, case, loss, grads):
    # The loss on plain logits (losses_ref.reference_loss) gives the same value, and its logit
    # gradient pulled back through the network (a vector-Jacobian product) gives the same grads.
    ref = reference_loss(dict(case, logits=logits.tolist(), dtype="float64"))
    assert abs(ref["loss"] - loss) <= 1e-13 * max(1.0, abs(loss)), (ref["loss"], loss)
    leaves = {n: t.detach().clone().requires_grad_(True) for n, t in params.items()}
    out = forward(leaves, CONFIG, tokens)
    vjp = torch.autograd.grad(out, list(leaves.values()), torch.tensor(ref["grad"], dtype=torch.float64))
    for name, g in zip(leaves, vjp):
        assert torch.allclose(g, grads[name], rtol=1e-10, atol=1e-14), name
    if case["sampled"] is not None:  # injected positives: only on non-pad tokens of negative rows,
        for b in range(B):           # never the target or the pad id, always among the top k
            for t in range(T):
                j, y = case["sampled"][b][t], case["targets"][b][t]
                if case["labels"][b] == 0 and y != PAD_ID:
                    assert j not in (y, PAD_ID) and j in topk_candidates(logits[b][t].tolist(), y, CRINGE_K)
                else:
                    assert j == -1
    if case["loss"] == "cross_entropy":
        assert all(c != 0 for c in case["labels"])
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.tensor(case["targets"]).reshape(-1),
                             ignore_index=case["pad_id"])
        assert abs(float(ce) - loss) <= 1e-13 * abs(loss), (float(ce), loss)

    # The key bias gets no gradient in exact arithmetic (it adds q . b_k to a whole row of scores,
    # which softmax ignores): only rounding noise may remain.
    C = CONFIG["n_embd"]
    for i in range(CONFIG["n_layer"]):
        g = grads[f"transformer.h.{i}.attn.c_attn.bias"]
        assert float(g[C:2 * C].abs().max()) < 1e-15 * float(g.abs().max()) + 1e-17, g

    # Central finite differences on four entries of every parameter tensor.
    h, worst = 1e-6, 0.0
    for name, shape in param_shapes(CONFIG):
        numel = math.prod(shape)
        for idx in sorted({0, numel // 3, (2 * numel) // 3 + 1, numel - 1}):
            def f(delta):
                p = {n: t.clone() for n, t in params.items()}
                p[name].view(-1)[idx] += delta
                value, _ = loss_on_logits(forward(p, CONFIG, tokens), case)
                return float(value)
            fd = (f(h) - f(-h)) / (2 * h)
            ad = float(grads[name].reshape(-1)[idx])
            err = abs(fd - ad) / max(1.0, abs(ad))
            assert err < 1e-7, f"{case['name']}: d loss / d {name}[{idx}]: autograd {ad}, fd {fd}"
            worst = max(worst, err)
    return worst


# ---------------------------------------------------------------------------------------------

def main():
    params = init_params(CONFIG, PARAM_SEED, perturb_std=PERTURB_STD, std_scale=STD_SCALE)
    save_model(MODEL_DIR, params, CONFIG, dtype=torch.float64)
    check_checkpoint(params)

    tokens, targets = make_batch()
    with torch.no_grad():
        logits = forward(params, CONFIG, tokens)
    lerr = check_logits(params, tokens, logits)

    specs = [("cross_entropy_pos_unlabeled", "cross_entropy", [1, -1]),
             ("cringe_pos_neg", "cringe", [1, 0])]
    cases = []
    for name, loss_name, labels in specs:
        sampled = pick_sampled(logits.tolist(), targets, labels) if loss_name == "cringe" else None
        case = {"name": name, "loss": loss_name, "labels": labels, "sampled": sampled, "options": {},
                "pad_id": PAD_ID, "targets": targets}
        loss, n_sup, grads = loss_and_grads(params, case, tokens)
        fd_err = check_case(params, tokens, logits, case, loss, grads)
        print(f"{name}: loss {loss!r}, n_supervised {n_sup}, worst finite-difference error {fd_err:.1e}")
        cases.append({"name": name, "loss": loss_name, "labels": labels, "sampled": sampled, "options": {},
                      "loss_value": loss, "n_supervised": n_sup,
                      "grads": {k: g.tolist() for k, g in grads.items()}})

    doc = {"generator": "tests/reference/gen_gpt2_fixture.py",
           "torch_version": torch.__version__,
           "dtype": "float64",
           "model_dir": MODEL_DIR_REL,
           "tokens": tokens,
           "targets": targets,
           "pad_id": PAD_ID,
           "logits": logits.tolist(),
           "cases": cases}
    text = dumps(doc) + "\n"
    assert json.loads(text) == json.loads(json.dumps(doc)), "custom writer must round-trip"
    with open(OUT, "w") as f:
        f.write(text)
    print(f"logits agree with the functional formulation to {lerr:.1e}")
    for path in (os.path.join(MODEL_DIR, "config.json"), os.path.join(MODEL_DIR, "model.safetensors"), OUT):
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        print(f"wrote {os.path.relpath(path, os.path.dirname(os.path.dirname(HERE)))}: "
              f"{os.path.getsize(path)} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
