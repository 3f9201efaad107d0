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
#   cp tests/reference/hf_tokenizer_saved/* .hfcheck/model32/     # a tokenizer saved by save_hf_tokenizer
#   echo '{"tokens": [[5,6,11,10,5,9]]}' > .hfcheck/tokens_text.json  # "the cat sat on the mat" in that vocabulary
#   build/test/examples/cringe-ref logits --model .hfcheck/model32 --in .hfcheck/tokens_text.json > .hfcheck/logits_text.json
#   python3 tests/reference/check_hf_load.py
#
# Result on 2026-11-27 (transformers 5.17.0, torch 2.11): model32 max |logit diff| 7.6e-08,
# model64 4.6e-16, HF_CHECK PASS. The tokenizer checks (AutoTokenizer on the two tokenizer
# directories, and AutoTokenizer + GPT2LMHeadModel on one directory) were added on 2026-11-30 and
# have not yet been run with transformers: the machine they were written on has none. Their files
# were checked with the tokenizers.js library instead (docs/transformer.md, "Moving to PyTorch").
import json, sys, torch
from transformers import AutoTokenizer, GPT2LMHeadModel
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

# Tokenizers: the same ids as cringe's WordTokenizer (tests/io/test_hf_tokenizer.cpp checks cringe's side).
encodings = json.load(open("tests/reference/hf_tokenizer/encodings.json"))
for directory, key in [("tests/reference/hf_tokenizer", "ids"), ("tests/reference/hf_tokenizer_saved", "saved_ids")]:
    tokenizer = AutoTokenizer.from_pretrained(directory)
    theirs = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in encodings["texts"]]
    same = theirs == encodings[key]
    print(f"{directory}: {type(tokenizer).__name__}, ids {'match' if same else 'DIFFER: ' + str(theirs)}")
    ok = ok and same
tokenizer = AutoTokenizer.from_pretrained("tests/reference/hf_tokenizer_saved")
decoded = tokenizer.decode(encodings["saved_ids"][2], skip_special_tokens=True)
print(f"decode(skip_special_tokens=True): {decoded!r} (cringe: 'héllo 你好 cat')")
ok = ok and decoded == "héllo 你好 cat"

# A directory with both the model and the tokenizer: text -> ids -> logits, against cringe's logits.
tokenizer = AutoTokenizer.from_pretrained(".hfcheck/model32")
model = GPT2LMHeadModel.from_pretrained(".hfcheck/model32", torch_dtype=torch.float32).eval()
ids = tokenizer("the cat sat on the mat", return_tensors="pt")["input_ids"]
ours = torch.tensor(json.load(open(".hfcheck/logits_text.json"))["logits"], dtype=torch.float64)
with torch.no_grad():
    theirs = model(ids).logits.double()
diff = (theirs - ours).abs().max().item()
print(f"model32 + tokenizer: ids {ids.tolist()}, max |logit diff| = {diff:.3e} (tolerance 1e-4)")
ok = ok and ids.tolist() == [[5, 6, 11, 10, 5, 9]] and diff < 1e-4

print("HF_CHECK", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
