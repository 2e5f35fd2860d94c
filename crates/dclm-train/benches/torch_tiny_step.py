"""PyTorch CPU reference for the dclm-train train-step benchmark (a manual bench tool, never a runtime dependency).

Builds the same model as dclm-train's `tiny` preset in plain PyTorch with open_lm's layout and code path
(gain-only LayerNorm eps 1e-5 via F.layer_norm, fused QKV with QK-norm over the whole projection, rotate-half
rotary, causal F.scaled_dot_product_attention as open_lm's `torch_attn`, fused SwiGLU `swiglu_torch`, untied
head, no biases), trains it in f32 with DCLM's recipe (torch.optim.AdamW betas (0.9, 0.95), eps 1e-8, weight
decay 0.033, open_lm's warmup + cosine schedule, cross-entropy + z-loss 1e-4, gradient accumulation weighted by
rows, clip_grad_norm_ 1.0) on the same synthetic batch as `examples/train_step_bench.rs` (64-bit LCG), and prints
tokens/s over the timed steps.

    python3 crates/dclm-train/benches/torch_tiny_step.py --threads 1 --warmup 2 --steps 10
    python3 crates/dclm-train/benches/torch_tiny_step.py --check DIR   # DIR from train_step_bench --dump DIR

`--check DIR` loads dclm-train's initial weights (`DIR/init.safetensors`, open_lm names) and the batch and
first two steps of `DIR/reference.json`, and compares the loss, CE, z-loss and gradient norm of step 1 and the
loss of step 2 (after one AdamW update); it exits non-zero when they differ by more than `--tol` (relative).
Needs torch; `--check` also needs safetensors.
"""

import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

PRESETS = {
    # name: (d, layers, heads, seq_len, vocab, global_batch, accum, steps, warmup, lr)
    "tiny": (64, 2, 4, 128, 50432, 8, 2, 200, 20, 3e-3),
    "micro": (32, 2, 2, 32, 256, 8, 1, 200, 10, 1e-2),
}
MIN_LR, WEIGHT_DECAY, Z_LOSS, GRAD_CLIP = 3e-5, 0.033, 1e-4, 1.0


def swiglu_hidden(d):
    """DCLM's FFN hidden size: 256 * ceil(int(8d/3) / 256)."""
    return 256 * ((8 * d // 3 + 255) // 256)


class Block(nn.Module):
    """open_lm `Block` with `torch_attn`, `swiglu_torch`, gain-only LayerNorm and QK-norm."""

    def __init__(self, d, heads, hidden, eps):
        super().__init__()
        self.heads, self.eps = heads, eps
        self.attention_norm = nn.Module()
        self.attention_norm.weight = nn.Parameter(torch.ones(d))
        self.attention = nn.Module()
        self.attention.in_proj = nn.Linear(d, 3 * d, bias=False)
        self.attention.out_proj = nn.Linear(d, d, bias=False)
        self.attention.q_norm = nn.Module()
        self.attention.q_norm.weight = nn.Parameter(torch.ones(d))
        self.attention.k_norm = nn.Module()
        self.attention.k_norm.weight = nn.Parameter(torch.ones(d))
        self.ffn_norm = nn.Module()
        self.ffn_norm.weight = nn.Parameter(torch.ones(d))
        self.feed_forward = nn.Module()
        self.feed_forward.w12 = nn.Linear(d, 2 * hidden, bias=False)
        self.feed_forward.w3 = nn.Linear(hidden, d, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        hd = d // self.heads
        h = F.layer_norm(x, (d,), self.attention_norm.weight, None, self.eps)
        q, k, v = self.attention.in_proj(h).chunk(3, dim=-1)
        q = F.layer_norm(q, (d,), self.attention.q_norm.weight, None, self.eps)
        k = F.layer_norm(k, (d,), self.attention.k_norm.weight, None, self.eps)
        q, k, v = (z.view(b, t, self.heads, hd) for z in (q, k, v))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
        x = x + self.attention.out_proj(a.transpose(1, 2).reshape(b, t, d))
        h = F.layer_norm(x, (d,), self.ffn_norm.weight, None, self.eps)
        gate, up = self.feed_forward.w12(h).chunk(2, dim=-1)
        return x + self.feed_forward.w3(F.silu(gate) * up)


def rope(x, cos, sin):
    """Rotate-half RoPE on [B, T, H, hd] with cos/sin [T, 1, hd] (open_lm `RotaryWithCast`)."""
    half = x.shape[-1] // 2
    rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rot * sin


class Transformer(nn.Module):
    """open_lm `Transformer`: embeddings, blocks, final gain-only norm, untied head."""

    def __init__(self, d, layers, heads, seq_len, vocab, eps=1e-5):
        super().__init__()
        self.tok_embeddings = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(Block(d, heads, swiglu_hidden(d), eps) for _ in range(layers))
        self.norm = nn.Module()
        self.norm.weight = nn.Parameter(torch.ones(d))
        self.output = nn.Linear(d, vocab, bias=False)
        self.d, self.eps = d, eps
        hd = d // heads
        inv_freq = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        ang = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
        emb = torch.cat((ang, ang), dim=-1)[:, None, :]
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.tok_embeddings(ids)
        cos, sin = self.cos[:t], self.sin[:t]
        for blk in self.layers:
            x = blk(x, cos, sin)
        return self.output(F.layer_norm(x, (self.d,), self.norm.weight, None, self.eps))


def loss_fn(logits, targets):
    """open_lm `CrossEntropyLossWithZLoss`: mean CE + z * mean(logsumexp^2); returns (total, ce, z term)."""
    logits = logits.reshape(-1, logits.shape[-1])
    ce = F.cross_entropy(logits, targets.reshape(-1))
    z = Z_LOSS * torch.square(torch.logsumexp(logits, dim=-1)).mean()
    return ce + z, ce, z


def cosine_lr(step, base_lr, warmup, total):
    """open_lm `cosine_lr` with `lr_cooldown_end` = MIN_LR (as dclm-train's CosineSchedule)."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    e, es = step - warmup, total - warmup
    return MIN_LR + 0.5 * (1 + math.cos(math.pi * e / es)) * (base_lr - MIN_LR)


def lcg_batch(rows, length, vocab):
    """The same synthetic batch as `examples/train_step_bench.rs`."""
    x, m = 12345, (1 << 64) - 1
    out = []
    for _ in range(rows):
        row = []
        for _ in range(length):
            x = (x * 6364136223846793005 + 1442695040888963407) & m
            row.append((x >> 33) % vocab)
        out.append(row)
    return torch.tensor(out, dtype=torch.long)


def train_step(model, opt, batch, accum, lr, params):
    """One optimizer step as dclm-train's Trainer::train_step: micro-batches weighted by rows, clip, AdamW."""
    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    rows = batch.shape[0]
    chunk = -(-rows // accum)
    tot = ce_s = z_s = 0.0
    for micro in batch.split(chunk):
        w = micro.shape[0] / rows
        total, ce, z = loss_fn(model(micro[:, :-1]), micro[:, 1:])
        (total * w).backward()
        tot += w * total.item()
        ce_s += w * ce.item()
        z_s += w * z.item()
    gnorm = torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP).item()
    opt.step()
    return tot, ce_s, z_s, gnorm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    ap.add_argument("--rows", type=int, help="global batch in sequences (default: the preset's)")
    ap.add_argument("--accum", type=int, help="micro-batches per step (default: the preset's)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--check", metavar="DIR", help="compare with train_step_bench --dump DIR")
    ap.add_argument("--tol", type=float, default=1e-4, help="relative tolerance of --check")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(124)
    d, layers, heads, seq_len, vocab, rows, accum, total_steps, warmup_steps, lr = PRESETS[a.preset]
    rows = a.rows or rows
    accum = a.accum or accum
    model = Transformer(d, layers, heads, seq_len, vocab)
    ref = None
    if a.check:
        from safetensors.torch import load_file

        init = load_file(f"{a.check}/init.safetensors")
        with open(f"{a.check}/reference.json") as f:
            ref = json.load(f)
        missing, unexpected = model.load_state_dict(init, strict=False)
        unexpected = [u for u in unexpected if not u.endswith("pos_embed.inv_freq")]
        if missing or unexpected:
            sys.exit(f"weights do not match: missing {missing}, unexpected {unexpected}")
        rows, accum, seq_len = ref["rows"], ref["accum"], ref["seq_len"]
        batch = torch.tensor(ref["batch"], dtype=torch.long)
    else:
        batch = lcg_batch(rows, seq_len + 1, vocab)
    params = [p for p in model.parameters()]
    n_params = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=WEIGHT_DECAY)
    total_steps = max(total_steps, a.warmup + a.steps + 1)
    print(
        f"torch {torch.__version__}: preset {a.preset} ({n_params} params), {rows} x {seq_len} tokens per step in "
        f"{accum} micro-batches, threads {torch.get_num_threads()}"
    )
    tokens = rows * seq_len
    rates, got = [], []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        out = train_step(model, opt, batch, accum, cosine_lr(s, lr, warmup_steps, total_steps), params)
        dt = time.perf_counter() - t0
        got.append(out)
        kind = "warmup" if s < a.warmup else "timed "
        print(f"step {s + 1:3} {kind} loss {out[0]:.6f} ce {out[1]:.6f} |g| {out[3]:.6f} {dt:.3f}s {tokens / dt:.0f} tok/s")
        if s >= a.warmup:
            rates.append(tokens / dt)
        if ref is not None and s == 1:
            break
    if ref is not None:
        if n_params != ref["n_params"]:
            sys.exit(f"parameter count {n_params} != dclm-train's {ref['n_params']}")
        bad = []
        for i, r in enumerate(ref["steps"][:2]):
            pairs = [("loss", got[i][0], r["loss"])]
            if i == 0:
                pairs += [("ce", got[0][1], r["ce"]), ("z_loss", got[0][2], r["z_loss"]), ("grad_norm", got[0][3], r["grad_norm"])]
            for name, ours, theirs in pairs:
                rel = abs(ours - theirs) / max(abs(theirs), 1e-12)
                print(f"step {i + 1} {name}: torch {ours:.7f} dclm-train {theirs:.7f} rel diff {rel:.2e}")
                if rel > a.tol:
                    bad.append(f"step {i + 1} {name}")
        print(f"CHECK params {n_params} == {ref['n_params']}; " + ("OK" if not bad else "FAILED: " + ", ".join(bad)))
        sys.exit(1 if bad else 0)
    print(
        f"RESULT impl=torch preset={a.preset} threads={torch.get_num_threads()} rows={rows} accum={accum} "
        f"seq_len={seq_len} steps={a.steps} tokens_per_s_median={statistics.median(rates):.1f} "
        f"tokens_per_s_mean={statistics.fmean(rates):.1f}"
    )


if __name__ == "__main__":
    main()
