# Loads cringe checkpoints with Hugging Face transformers and compares the logits with cringe's.
# Not part of the test suite (it needs transformers); run where transformers is installed:
#
#   mkdir -p .hfcheck
#   echo '{"vocab_size": 50, "n_positions": 16, "n_embd": 32, "n_layer": 2, "n_head": 4}' > .hfcheck/cfg.json
#   build/test/examples/cringe-ref init --config .hfcheck/cfg.json --seed 3 --out .hfcheck/model32
#   echo '{"tokens": [[1,5,9,3,44,2,7],[0,1,2,3,4,5,6]]}' > .hfcheck/tokens.json
#   build/test/examples/cringe-ref logits --model .hfcheck/model32 --in .hfcheck/tokens.json > .hfcheck/logits32.json
#   cp -r tests/reference/gpt2_tiny .hfcheck/model64
#   echo '{"tokens": [[9,6,3,6,9,1],[8,4,8,9,9,0]], "dtype": "float64"}' > .hfcheck/tokens64.json
#   build/test/examples/cringe-ref logits --model .hfcheck/model64 --in .hfcheck/tokens64.json > .hfcheck/logits64.json
#   python3 tests/reference/check_hf_load.py
#
# Result on 2026-11-27 (transformers 5.17.0, torch 2.11): model32 max |logit diff| 7.6e-08,
# model64 4.6e-16, HF_CHECK PASS.
import json, sys, torch
from transformers import GPT2LMHeadModel
ok = True
for name, dtype, tol in [("model32", torch.float32, 1e-4), ("model64", torch.float64, 1e-10)]:
    model = GPT2LMHeadModel.from_pretrained(f".hfcheck/{name}", torch_dtype=dtype).eval()
    suffix = "32" if name == "model32" else "64"
    tokens = json.load(open(".hfcheck/tokens.json" if suffix == "32" else ".hfcheck/tokens64.json"))["tokens"]
    ours = torch.tensor(json.load(open(f".hfcheck/logits{suffix}.json"))["logits"], dtype=torch.float64)
    with torch.no_grad():
        theirs = model(torch.tensor(tokens)).logits.double()
    diff = (theirs - ours).abs().max().item()
    print(f"{name}: transformers {__import__('transformers').__version__}, torch {torch.__version__}, max |logit diff| = {diff:.3e} (tolerance {tol})")
    ok = ok and diff < tol
print("HF_CHECK", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
