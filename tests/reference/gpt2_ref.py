"""Independent PyTorch reference for cringe's GPT-2-style transformer.

The second opinion for the C++ model (include/cringe/nn/gpt.hpp): the same network written with
plain torch ops in float64 (no torch.nn.Transformer*, no Hugging Face ``transformers``), gradients
from torch.autograd. It reads and writes checkpoints in the Hugging Face GPT-2 layout
(``config.json`` + ``model.safetensors``) with a safetensors reader/writer written here by hand, so
the check does not lean on the ``safetensors`` package either.

    read_safetensors(path)                      -> {name: tensor}   (header order)
    write_safetensors(path, tensors, metadata)
    load_model(dir)                             -> (params {name: float64 tensor}, config dict)
    save_model(dir, params, config, dtype)      writes DIR/config.json and DIR/model.safetensors
    init_params(config, seed, perturb_std=0.0)  -> params (GPT-2 initialisation)
    forward(params, config, tokens [B, T])      -> logits [B, T, V]  (float64)
    param_shapes(config)                        -> [(name, shape)] in the canonical order

Parameter names are those of Hugging Face ``GPT2LMHeadModel.save_pretrained`` (with the
``transformer.`` prefix); linear weights are in Conv1D orientation ``[in, out]`` (``y = x @ W + b``);
the LM head is tied to ``transformer.wte.weight`` (``logits = h @ wte^T``), so there is no
``lm_head.weight`` entry.

Requires only torch (Debian: ``apt-get install python3-torch``). Run with /usr/bin/python3.
"""

import json
import math
import os
import struct
import sys

import torch

DTYPE = torch.float64

# ---------------------------------------------------------------------------------------------
# safetensors, by hand
#
#   [0, 8)        N, u64 little-endian
#   [8, 8 + N)    UTF-8 JSON header {"__metadata__": {str: str} (optional),
#                                   name: {"dtype": "F64", "shape": [...], "data_offsets": [b, e]}, ...}
#                 padded at the end with spaces (we pad to a multiple of 8, as the Rust writer does)
#   [8 + N, end)  the byte buffer; offsets are relative to its start, tensors are row-major
#                 little-endian and tile the buffer without gaps or overlap.
# ---------------------------------------------------------------------------------------------

# safetensors dtype -> (torch dtype, struct code, bytes per element)
_ST_DTYPES = {
    "F64": (torch.float64, "d", 8),
    "F32": (torch.float32, "f", 4),
}
_TORCH_TO_ST = {v[0]: k for k, v in _ST_DTYPES.items()}


def _read_header(data, where):
    if len(data) < 8:
        raise ValueError(f"{where}: {len(data)} bytes, too short for the 8-byte header length")
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > len(data) - 8:
        raise ValueError(f"{where}: header length {n} exceeds the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{where}: header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{where}: header is not a JSON object")
    return header, 8 + n


def read_safetensors(path, with_metadata=False):
    """{name: tensor} in header order (F32 and F64 only); with ``with_metadata`` also the
    ``__metadata__`` dict (empty if absent). Checks every entry: known dtype, data_offsets that match
    the shape, lie in the buffer and tile it exactly."""
    with open(path, "rb") as f:
        data = f.read()
    header, start = _read_header(data, path)
    buf_len = len(data) - start
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise ValueError(f"{path}: __metadata__ must map strings to strings")
    tensors, spans = {}, []
    for name, entry in header.items():
        where = f"{path}: tensor {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{where}: expected keys dtype, shape, data_offsets")
        if entry["dtype"] not in _ST_DTYPES:
            raise ValueError(f"{where}: dtype {entry['dtype']!r} not supported (F32, F64)")
        tdtype, code, size = _ST_DTYPES[entry["dtype"]]
        shape = entry["shape"]
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError(f"{where}: shape {shape!r} is not a list of non-negative ints")
        begin, end = entry["data_offsets"]
        numel = math.prod(shape)
        if not (0 <= begin <= end <= buf_len) or end - begin != numel * size:
            raise ValueError(f"{where}: data_offsets [{begin}, {end}] do not hold {numel} x {size} bytes "
                             f"inside a {buf_len}-byte buffer")
        values = struct.unpack_from(f"<{numel}{code}", data, start + begin)
        tensors[name] = torch.tensor(values, dtype=tdtype).reshape(shape)
        spans.append((begin, end, name))
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise ValueError(f"{path}: tensor {name!r} starts at {begin}, expected {pos} (gap or overlap)")
        pos = end
    if pos != buf_len:
        raise ValueError(f"{path}: tensors end at byte {pos} of a {buf_len}-byte buffer")
    return (tensors, metadata) if with_metadata else tensors


def write_safetensors(path, tensors, metadata=None):
    """Writes ``tensors`` ({name: float32/float64 tensor}) in the given order, ``__metadata__``
    first when given. Compact JSON header, padded with spaces to a multiple of 8 bytes."""
    header = {}
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("metadata: must map strings to strings")
        header["__metadata__"] = dict(metadata)
    chunks, offset = [], 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot name a tensor")
        if t.dtype not in _TORCH_TO_ST:
            raise ValueError(f"tensor {name!r}: dtype {t.dtype} not supported (float32, float64)")
        st = _TORCH_TO_ST[t.dtype]
        _, code, size = _ST_DTYPES[st]
        flat = t.detach().contiguous().reshape(-1).tolist()
        raw = struct.pack(f"<{len(flat)}{code}", *flat)
        header[name] = {"dtype": st, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


# ---------------------------------------------------------------------------------------------
# Config and parameter layout
# ---------------------------------------------------------------------------------------------

REQUIRED_KEYS = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head")


def check_config(config):
    """The config dict with defaults filled in (layer_norm_epsilon 1e-5); raises ValueError for
    settings that describe a different network than the one implemented here."""
    cfg = dict(config)
    for key in REQUIRED_KEYS:
        if not isinstance(cfg.get(key), int) or isinstance(cfg.get(key), bool) or cfg[key] < 1:
            raise ValueError(f"config: key {key!r} is {cfg.get(key)!r}; expected a positive int")
    cfg.setdefault("layer_norm_epsilon", 1e-5)
    if cfg["n_embd"] % cfg["n_head"] != 0:
        raise ValueError(f"config: n_embd {cfg['n_embd']} is not divisible by n_head {cfg['n_head']}")
    allowed = {"model_type": ("gpt2",), "activation_function": ("gelu_new", "gelu_pytorch_tanh"),
               "scale_attn_weights": (True,), "scale_attn_by_inverse_layer_idx": (False,),
               "tie_word_embeddings": (True,), "add_cross_attention": (False,)}
    for key, values in allowed.items():
        if key in cfg and cfg[key] not in values:
            raise ValueError(f"config: key {key!r} is {cfg[key]!r}; implemented only {values}")
    if cfg.get("n_inner") not in (None, 4 * cfg["n_embd"]):
        raise ValueError(f"config: n_inner {cfg['n_inner']!r}; implemented only null or 4 * n_embd")
    if "n_ctx" in cfg and cfg["n_ctx"] != cfg["n_positions"]:
        raise ValueError(f"config: n_ctx {cfg['n_ctx']} differs from n_positions {cfg['n_positions']}")
    return cfg


def param_shapes(config):
    """[(name, shape)] of every trainable parameter, in the order of GPT2LMHeadModel.state_dict()."""
    V, P, C, L = config["vocab_size"], config["n_positions"], config["n_embd"], config["n_layer"]
    out = [("transformer.wte.weight", [V, C]), ("transformer.wpe.weight", [P, C])]
    for i in range(L):
        h = f"transformer.h.{i}."
        out += [(h + "ln_1.weight", [C]), (h + "ln_1.bias", [C]),
                (h + "attn.c_attn.weight", [C, 3 * C]), (h + "attn.c_attn.bias", [3 * C]),
                (h + "attn.c_proj.weight", [C, C]), (h + "attn.c_proj.bias", [C]),
                (h + "ln_2.weight", [C]), (h + "ln_2.bias", [C]),
                (h + "mlp.c_fc.weight", [C, 4 * C]), (h + "mlp.c_fc.bias", [4 * C]),
                (h + "mlp.c_proj.weight", [4 * C, C]), (h + "mlp.c_proj.bias", [C])]
    out += [("transformer.ln_f.weight", [C]), ("transformer.ln_f.bias", [C])]
    return out


def _canonical_name(name):
    """Hugging Face files from GPT2Model (rather than GPT2LMHeadModel) omit the prefix."""
    return name if name.startswith("transformer.") or name == "lm_head.weight" else "transformer." + name


def load_model(model_dir):
    """(params, config) from DIR/config.json and DIR/model.safetensors; params are float64 tensors
    in the canonical order. Accepts names with or without the ``transformer.`` prefix, ignores the
    non-trainable attention-mask buffers (``attn.bias``, ``attn.masked_bias``) of older files, and
    accepts an ``lm_head.weight`` only if it equals wte (tied). Anything else missing, extra or
    mis-shaped is an error."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = check_config(json.load(f))
    raw = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    found = {}
    for name, t in raw.items():
        if name.endswith(".attn.bias") or name.endswith(".attn.masked_bias"):
            continue
        found[_canonical_name(name)] = t.to(DTYPE)
    lm_head = found.pop("lm_head.weight", None)
    params = {}
    for name, shape in param_shapes(config):
        if name not in found:
            raise ValueError(f"{model_dir}: model.safetensors lacks {name!r}")
        t = found.pop(name)
        if list(t.shape) != shape:
            raise ValueError(f"{model_dir}: {name!r} has shape {list(t.shape)}, expected {shape}")
        params[name] = t
    if found:
        raise ValueError(f"{model_dir}: unexpected tensors {sorted(found)}")
    if lm_head is not None and not torch.equal(lm_head, params["transformer.wte.weight"]):
        raise ValueError(f"{model_dir}: lm_head.weight differs from transformer.wte.weight (untied head)")
    return params, config


def save_model(model_dir, params, config, dtype=DTYPE):
    """Writes DIR/config.json (as given, sorted keys, indent 2, like Hugging Face) and
    DIR/model.safetensors (params in their dict order, converted to ``dtype``, metadata format pt)."""
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_safetensors(os.path.join(model_dir, "model.safetensors"),
                      {name: t.detach().to(dtype) for name, t in params.items()}, {"format": "pt"})


def init_params(config, seed, perturb_std=0.0, std_scale=1.0):
    """GPT-2 initialisation (Hugging Face GPT2PreTrainedModel._init_weights), float64:
    embeddings and weight matrices ~ N(0, 0.02^2), except attn.c_proj.weight and mlp.c_proj.weight
    ~ N(0, (0.02 / sqrt(2 n_layer))^2); biases 0; LayerNorm weight 1, bias 0.

    Two knobs for test fixtures, both off by default: ``std_scale`` multiplies the standard
    deviations of the weight matrices and embeddings (at width 8 the GPT-2 values leave attention
    nearly uniform and the logits near 0, so a fixture would barely notice e.g. q and k swapped);
    with ``perturb_std`` > 0 every bias and LayerNorm parameter gets N(0, perturb_std^2) noise added,
    so that no parameter is a constant (a fixture should notice a swapped gamma/beta or a dropped
    bias). Draws come from one torch.Generator seeded with ``seed``, parameter by parameter in the
    canonical order (param_shapes).
    """
    config = check_config(config)
    g = torch.Generator().manual_seed(seed)
    std = 0.02 * std_scale
    std_proj = std / math.sqrt(2 * config["n_layer"])
    params = {}
    for name, shape in param_shapes(config):
        if name.endswith("c_proj.weight"):
            t = torch.empty(shape, dtype=DTYPE).normal_(0.0, std_proj, generator=g)
        elif name.endswith(".weight") and len(shape) == 2:
            t = torch.empty(shape, dtype=DTYPE).normal_(0.0, std, generator=g)
        else:  # bias or LayerNorm parameter
            base = 1.0 if (".ln_" in name and name.endswith(".weight")) else 0.0
            t = torch.full(shape, base, dtype=DTYPE)
            if perturb_std > 0:
                t = t + torch.empty(shape, dtype=DTYPE).normal_(0.0, perturb_std, generator=g)
        params[name] = t
    return params


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------

def layer_norm(x, weight, bias, eps):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last axis, biased variance."""
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def gelu_tanh(x):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (Hugging Face "gelu_new")."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(a, w_attn, b_attn, w_proj, b_proj, n_head):
    """Causal multi-head self-attention of a [B, T, C], output [B, T, C] (after c_proj)."""
    B, T, C = a.shape
    D = C // n_head
    qkv = a @ w_attn + b_attn                                   # [B, T, 3C]
    q, k, v = qkv.split(C, dim=-1)                              # each [B, T, C]
    q, k, v = (z.reshape(B, T, n_head, D).transpose(1, 2) for z in (q, k, v))  # [B, H, T, D]
    att = q @ k.transpose(-2, -1) / math.sqrt(D)                # [B, H, T, T]
    future = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)  # key position > query position
    att = att.masked_fill(future, float("-inf"))
    att = torch.softmax(att, dim=-1)
    y = (att @ v).transpose(1, 2).reshape(B, T, C)              # heads back side by side
    return y @ w_proj + b_proj


def forward(params, config, tokens):
    """Logits [B, T, V] (float64) of token ids [B, T] (tensor or nested list)."""
    config = check_config(config)
    tokens = torch.as_tensor(tokens, dtype=torch.long)
    if tokens.dim() != 2:
        raise ValueError(f"tokens: expected [B][T], got {tokens.dim()} dimensions")
    B, T = tokens.shape
    if T > config["n_positions"]:
        raise ValueError(f"tokens: {T} positions, the model has n_positions {config['n_positions']}")
    if ((tokens < 0) | (tokens >= config["vocab_size"])).any():
        raise ValueError(f"tokens: ids must lie in [0, {config['vocab_size']})")
    p = params
    eps = config["layer_norm_epsilon"]
    wte = p["transformer.wte.weight"]
    x = wte[tokens] + p["transformer.wpe.weight"][:T]           # [B, T, C]
    for i in range(config["n_layer"]):
        h = f"transformer.h.{i}."
        a = layer_norm(x, p[h + "ln_1.weight"], p[h + "ln_1.bias"], eps)
        x = x + attention(a, p[h + "attn.c_attn.weight"], p[h + "attn.c_attn.bias"],
                          p[h + "attn.c_proj.weight"], p[h + "attn.c_proj.bias"], config["n_head"])
        m = layer_norm(x, p[h + "ln_2.weight"], p[h + "ln_2.bias"], eps)
        x = x + gelu_tanh(m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"]) @ p[h + "mlp.c_proj.weight"] \
            + p[h + "mlp.c_proj.bias"]
    x = layer_norm(x, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    return x @ wte.t()                                          # tied LM head: [B, T, V]


if __name__ == "__main__":  # usage: gpt2_ref.py MODEL_DIR '[[ids...], ...]'  prints the logits
    params, config = load_model(sys.argv[1])
    print(forward(params, config, json.loads(sys.argv[2])).tolist())
