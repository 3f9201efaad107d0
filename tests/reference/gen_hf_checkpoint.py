# Saves a tiny GPT-2 with Hugging Face transformers' own save_pretrained, plus its logits in float64.
import json, os, sys, torch
from transformers import GPT2Config, GPT2LMHeadModel
out = sys.argv[1]
torch.manual_seed(0)
config = GPT2Config(vocab_size=13, n_positions=8, n_embd=8, n_layer=2, n_head=2, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                    bos_token_id=1, eos_token_id=2)
model = GPT2LMHeadModel(config).double().eval()
with torch.no_grad():  # make biases and LayerNorm parameters non-trivial
    for name, p in model.named_parameters():
        if "ln_" in name or name.endswith("bias"):
            p.add_(0.1 * torch.randn_like(p))
        else:
            p.mul_(5.0)
model.save_pretrained(out, safe_serialization=True)
tokens = [[1, 5, 9, 3, 12, 2], [4, 4, 7, 0, 11, 6]]
with torch.no_grad():
    logits = model(torch.tensor(tokens)).logits
import transformers
json.dump({"generator": f"transformers {transformers.__version__} GPT2LMHeadModel.save_pretrained, torch {torch.__version__}",
           "tokens": tokens, "logits": logits.tolist()}, open(os.path.join(out, "expected_logits.json"), "w"))
print(sorted(os.listdir(out)))
