"""PyTorch CPU yardstick for bench/bench_decode.cpp: greedy decoding with a key/value cache.

The model is the GPT-2-style decoder of bench_train_step / bench_decode (learned token and position
embeddings; L x [pre-LN causal attention with a fused qkv Linear, output projection; pre-LN
GELU(tanh) MLP 4x]; final LayerNorm; LM head tied to the token embedding), written here with an
explicit cache: every layer keeps preallocated key and value buffers [B, H, seq, D]; the prompt runs
once (prefill), then each step runs only the newest token and attends over the cached positions.
Decoding as bench_decode: `batch` random prompts of seq/4 tokens, greedy (argmax of the last
logits), until the context (seq positions) is full; torch.inference_mode(), no EOS.
--no-cache re-runs the whole prefix every step instead (for reference).

Run with Debian's python3-torch and OpenBLAS, e.g.
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
    /usr/bin/python3 bench/torch_decode_bench.py --config small --dtype fp32 --threads 1
Prints one JSON line per timed block: ms_median (one whole decoding of the batch, wall clock),
tok_s = new tokens per second (batch x new tokens / ms_median), the same per CPU second of the
process (ms_cpu_median, tok_per_cpu_s: steadier on a loaded machine, meaningful at 1 thread), and
blas (the BLAS library torch loaded).
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {  # the configs of bench/bench_decode.cpp
    "tiny": dict(vocab=64, d=64, layers=2, heads=4, seq=32, batch=16),
    "small": dict(vocab=256, d=128, layers=4, heads=4, seq=64, batch=16),
}


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x, cache, start):
        """x [B, n, C], the new positions start .. start+n-1; cache = (k, v) [B, H, seq, D], or None
        for no cache (then start must be 0 and x is the whole prefix)."""
        B, n, C = x.shape
        hd = C // self.h
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, n, self.h, hd).transpose(1, 2)
        k = k.view(B, n, self.h, hd).transpose(1, 2)
        v = v.view(B, n, self.h, hd).transpose(1, 2)
        if cache is not None:
            kc, vc = cache
            kc[:, :, start:start + n] = k
            vc[:, :, start:start + n] = v
            k, v = kc[:, :, :start + n], vc[:, :, :start + n]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))  # [B, H, n, start+n]
        if n > 1:  # new position start+i sees keys 0 .. start+i
            mask = torch.ones(n, start + n, dtype=torch.bool).triu(start + 1)
            att = att.masked_fill(mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, n, C)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, d, layers, heads, seq, **_):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(seq, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.tok.weight  # tied, as GPT-2

    def forward(self, idx, caches, start):
        """Logits of the last position [B, V] for the new tokens idx [B, n] at positions start.."""
        n = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(start, start + n))
        for i, b in enumerate(self.blocks):
            x = b(x, caches[i] if caches is not None else None, start)
        return self.head(self.ln_f(x[:, -1]))


def decode(model, prompts, c, dt, use_cache):
    """Greedy decoding of prompts [B, P] until seq positions; returns the new tokens [B, seq-P]."""
    B, P = prompts.shape
    seq, H = c["seq"], c["heads"]
    hd = c["d"] // H
    seqs = prompts
    if use_cache:
        caches = [(torch.empty(B, H, seq, hd, dtype=dt), torch.empty(B, H, seq, hd, dtype=dt)) for _ in range(c["layers"])]
        logits = model(prompts, caches, 0)
        for t in range(P, seq):
            nxt = logits.argmax(-1, keepdim=True)
            seqs = torch.cat([seqs, nxt], dim=1)
            if t + 1 < seq:
                logits = model(nxt, caches, t)
    else:
        for t in range(P, seq):
            nxt = model(seqs, None, 0).argmax(-1, keepdim=True)
            seqs = torch.cat([seqs, nxt], dim=1)
    return seqs[:, P:]


def blas_name():
    maps = open("/proc/self/maps").read()
    return "openblas" if "openblas" in maps else ("netlib" if "/blas/libblas" in maps else "?")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="tiny", choices=CONFIGS)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp64"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-cache", action="store_true", help="re-run the whole prefix every step")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10, help="decodings per timed block")
    ap.add_argument("--blocks", type=int, default=3)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = CONFIGS[a.config]
    dt = {"fp32": torch.float32, "fp64": torch.float64}[a.dtype]
    model = GPT(**c).to(dt).eval()
    B, seq = c["batch"], c["seq"]
    P = seq // 4
    prompts = torch.randint(0, c["vocab"], (B, P))
    with torch.inference_mode():
        if not a.no_cache:  # the cached path decodes what the full prefix decodes (sanity, untimed)
            same = torch.equal(decode(model, prompts, c, dt, True), decode(model, prompts, c, dt, False))
        for _ in range(a.warmup):
            decode(model, prompts, c, dt, not a.no_cache)
        for blk in range(a.blocks):
            times, cpu_times = [], []
            for _ in range(a.runs):
                t0, c0 = time.perf_counter(), time.process_time()
                decode(model, prompts, c, dt, not a.no_cache)
                times.append(time.perf_counter() - t0)
                cpu_times.append(time.process_time() - c0)
            med, cpu_med = statistics.median(times), statistics.median(cpu_times)
            print(json.dumps(dict(
                bench="decode", config=a.config, dtype=a.dtype, threads=torch.get_num_threads(),
                cache=not a.no_cache, blas=blas_name(), block=blk, runs=a.runs, batch=B, prompt=P,
                new_tokens=seq - P, ms_median=round(med * 1e3, 3), ms_min=round(min(times) * 1e3, 3),
                tok_s=round(B * (seq - P) / med, 1), ms_cpu_median=round(cpu_med * 1e3, 3),
                tok_per_cpu_s=round(B * (seq - P) / cpu_med, 1),
                cache_matches_full=None if a.no_cache else same)), flush=True)


if __name__ == "__main__":
    main()
