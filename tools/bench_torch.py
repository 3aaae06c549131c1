#!/usr/bin/python3
"""bench_torch: the PyTorch side of `make bench`.

Times full training steps (forward, cross-entropy, backward, grad clip, AdamW) of the same GPT
that `lengen bench` builds: learned positions (max_pos = T rows), pre-norm blocks with
layernorm (bias), qkv and proj Linear with bias, explicit causal attention as nanoGPT writes it
(q @ k^T, mask, softmax, @ v), MLP 4D with tanh GELU, final layernorm, head tied to the token
embedding. Random tokens, 2 threads. Prints the parameter count (compare with lengen's) and the
same metrics, ending with a `RESULT key=value ...` line that tools/bench.sh parses.
"""
import argparse
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, D, H):
        super().__init__()
        self.H = H
        self.ln1 = nn.LayerNorm(D)
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)
        self.ln2 = nn.LayerNorm(D)
        self.fc = nn.Linear(D, 4 * D)
        self.mproj = nn.Linear(4 * D, D)

    def forward(self, x, mask):
        B, T, D = x.shape
        H = self.H
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q = q.view(B, T, H, D // H).transpose(1, 2)
        k = k.view(B, T, H, D // H).transpose(1, 2)
        v = v.view(B, T, H, D // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // H))
        att = att.masked_fill(mask[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        a = (att @ v).transpose(1, 2).contiguous().view(B, T, D)
        x = x + self.proj(a)
        x = x + self.mproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return x


class GPT(nn.Module):
    def __init__(self, V, L, H, D, T):
        super().__init__()
        self.tok = nn.Embedding(V, D)
        self.pos = nn.Embedding(T, D)
        self.blocks = nn.ModuleList([Block(D, H) for _ in range(L)])
        self.lnf = nn.LayerNorm(D)
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx):
        B, T = idx.shape
        x = self.tok(idx) + self.pos(torch.arange(T))
        for b in self.blocks:
            x = b(x, self.mask)
        return self.lnf(x) @ self.tok.weight.t()  # tied head


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    L, H, D, T, B, V = a.layers, a.heads, a.d_model, a.seq, a.batch, a.vocab
    model = GPT(V, L, H, D, T)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.99), eps=1e-8)
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    total = 0.0
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        if s >= a.warmup:
            total += dt
    tps = B * T * a.steps / total
    gf = (6.0 * n_params + 12.0 * L * D * T) * tps / 1e9
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"torch {torch.__version__} bench: L={L} H={H} D={D} T={T} B={B} V={V}, {n_params} params, "
          f"{a.threads} threads, {a.steps} steps after {a.warmup} warm-up")
    print(f"  {1e3 * total / a.steps:.2f} ms/step, {tps:.0f} tokens/s, {gf:.1f} GFLOP/s, peak RSS {rss} MB, "
          f"last loss {loss.item():.4f}")
    print(f"RESULT mode=train impl=torch params={n_params} ms={1e3 * total / a.steps:.3f} tok_s={tps:.0f} "
          f"gflops={gf:.2f} rss_mb={rss}")


if __name__ == "__main__":
    main()
