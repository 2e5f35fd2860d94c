"""Reference train-step throughput: open_lm's own `Transformer` in PyTorch (CPU, f32), the `tiny` shape of
`dclm train --scale tiny`, trained with DCLM's recipe for a few steps.

usage: python train_step_openlm.py [--steps 8] [--threads 1]

The model is built from open_lm's `Params` (d 64, 2 layers, 4 heads, context 128, vocabulary 50,432, gain-only
LayerNorm, QK-norm, rotary, `swiglu_torch`, `torch_attn`, untied head); each step is a global batch of 8 rows in 2
micro-batches, cross-entropy + z-loss 1e-4, gradient clipping at 1.0 and torch.optim.AdamW (betas 0.9/0.95,
eps 1e-8, weight decay 0.033, lr 3e-3). Token ids are random (seeded): throughput does not depend on them. Prints
steps, tokens, seconds and tokens/s of the steps on one line (a measuring tool, never a runtime dependency of
dclm-rs; `dclm bench` runs it with the torch venv `.ci/run` installs).
"""
import argparse, sys, time, types

import torch
import torch.nn.functional as F
try:
    import xformers.ops  # noqa: F401
except ImportError:
    # open_lm imports xformers when its model module loads, but nothing of it runs with `torch_attn` and
    # `swiglu_torch`; on a CPU an empty module stands in, and any use of it fails naming xformers.
    stub = types.ModuleType("xformers")
    stub.ops = types.ModuleType("xformers.ops")
    sys.modules["xformers"], sys.modules["xformers.ops"] = stub, stub.ops

from open_lm.attention import get_attn_func
from open_lm.model import Params, Transformer
from open_lm.norms import get_norm_class

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=8)
ap.add_argument("--threads", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

SEQ, VOCAB, BATCH, ACCUM = 128, 50432, 8, 2
params = Params(
    dim=64, n_layers=2, n_heads=4, seq_len=SEQ, vocab_size=VOCAB, post_embed_norm=False, weight_tying=False,
    norm_type=get_norm_class("gain_only_lp_layer_norm"), attn_func=get_attn_func("torch_attn"),
    apply_qk_norm=True, positional_embedding_type="rotary", ffn_type="swiglu_torch",
)
model = Transformer(params)
model.reset_parameters()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.033)
gen = torch.Generator().manual_seed(1234)


def step():
    opt.zero_grad(set_to_none=True)
    batch = torch.randint(0, VOCAB, (BATCH, SEQ + 1), generator=gen)
    for micro in batch.chunk(ACCUM):
        logits = model(micro[:, :-1])[0].reshape(-1, VOCAB)
        ce = F.cross_entropy(logits, micro[:, 1:].reshape(-1))
        z = 1e-4 * torch.square(torch.logsumexp(logits, dim=-1)).mean()
        ((ce + z) * micro.shape[0] / BATCH).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


t0 = time.perf_counter()
for _ in range(a.steps):
    step()
dt = time.perf_counter() - t0
tokens = a.steps * BATCH * SEQ
print(f"steps={a.steps} tokens={tokens} seconds={dt:.3f} tokens_per_s={tokens/dt:.0f}")
