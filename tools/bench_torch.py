#!/usr/bin/python3
"""bench_torch: the PyTorch side of `make bench`.

Two modes. Synthetic (the default, below). Workload (--workload CONFIG.ini [--set k=v ...]):
trains the config's recipe for [train] steps as a PyTorch user would write it, and prints the
training wall time; see train_workload.

Times full training steps (forward, cross-entropy, backward, grad clip, AdamW) of the same GPT
that `lengen bench` builds: learned positions (max_pos = T rows), pre-norm blocks with
layernorm (bias), qkv and proj Linear with bias, explicit causal attention as nanoGPT writes it
(q @ k^T, mask, softmax, @ v), MLP 4D with tanh GELU, final layernorm, head tied to the token
embedding. Random tokens, 2 threads. Prints the parameter count (compare with lengen's) and the
same metrics, ending with a `RESULT key=value ...` line that tools/bench.sh parses.
"""
import argparse
import configparser
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


# ---- workload mode: the recipe of a lengen config, learned ----

def read_config(path, sets):
    """The config's keys as {section: {key: text}}, --set section.key=value applied on top."""
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    cp.read(path)
    cfg = {sec: dict(cp[sec]) for sec in cp.sections()}
    for s in sets:
        key, _, val = s.partition("=")
        sec, _, name = key.partition(".")
        cfg.setdefault(sec, {})[name] = val
    return cfg


def get(cfg, sec, key, default, kind=str):
    return kind(cfg.get(sec, {}).get(key, default))


def cosine_lr(step, steps, lr, min_lr, warmup):
    """lengen's schedule (docs/optim.md): linear warmup from 0, then cosine to min_lr at `steps`."""
    if step < warmup:
        return lr * (step + 1) / warmup
    prog = (step - warmup) / max(1, steps - warmup)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * prog))


class SortData:
    """sort / sort_unique as lengen writes them (docs/tasks.md): <sort> x1..xn <sep> sorted <eos>,
    loss on the answer and <eos>; lengths uniform in [min_length, max_length]; rows padded to the
    batch's longest (as a PyTorch user would batch them)."""

    PAD, SEP, EOS, TASK = 0, 1, 2, 3

    def __init__(self, cfg, B, seed):
        self.task = get(cfg, "task", "main", "sort")
        if self.task not in ("sort", "sort_unique"):
            raise SystemExit(f"bench_torch: workload task '{self.task}' is not supported (sort, sort_unique)")
        lo, hi = get(cfg, "task", "values", "0..99").split("..")
        self.vlo, self.vhi = int(lo), int(hi)
        self.lmin = get(cfg, "train", "min_length", 1, int)
        self.lmax = get(cfg, "train", "max_length", 20, int)
        self.B = B
        self.V = 4 + self.vhi - self.vlo + 1
        self.g = torch.Generator().manual_seed(seed)

    def batch(self):
        rows = []
        for _ in range(self.B):
            n = int(torch.randint(self.lmin, self.lmax + 1, (1,), generator=self.g))
            if self.task == "sort":
                v = torch.randint(self.vlo, self.vhi + 1, (n,), generator=self.g)
            else:
                v = torch.randperm(self.vhi - self.vlo + 1, generator=self.g)[:n] + self.vlo
            v = v + 4 - self.vlo
            rows.append(torch.cat([torch.tensor([self.TASK]), v, torch.tensor([self.SEP]),
                                   torch.sort(v).values, torch.tensor([self.EOS])]))
        T = max(len(r) for r in rows) - 1
        x = torch.full((self.B, T), self.PAD, dtype=torch.long)
        y = torch.full((self.B, T), -100, dtype=torch.long)   # ignore_index: prompt and padding
        for b, r in enumerate(rows):
            n = (len(r) - 3) // 2
            x[b, : len(r) - 1] = r[:-1]
            y[b, n + 1 : len(r) - 1] = r[n + 2 :]   # targets from the first answer token to <eos>
        return x, y


class WorkloadGPT(nn.Module):
    """lengen's decoder at the config's shape: pre-norm layernorm blocks with biases, GELU (tanh),
    d_ff = 4D unless set, tied head, NoPE or learned positions."""

    def __init__(self, V, L, H, D, max_pos, posenc, std):
        super().__init__()
        if posenc not in ("nope", "learned"):
            raise SystemExit(f"bench_torch: workload posenc '{posenc}' is not supported (nope, learned)")
        self.tok = nn.Embedding(V, D)
        self.pos = nn.Embedding(max_pos, D) if posenc == "learned" else None
        self.blocks = nn.ModuleList([Block(D, H) for _ in range(L)])
        self.lnf = nn.LayerNorm(D)
        self.register_buffer("mask", torch.tril(torch.ones(max_pos, max_pos)).view(1, 1, max_pos, max_pos))
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        B, T = idx.shape
        x = self.tok(idx)
        if self.pos is not None:
            x = x + self.pos(torch.arange(T))
        for b in self.blocks:
            x = b(x, self.mask)
        return self.lnf(x) @ self.tok.weight.t()


def train_workload(a):
    """Trains the config's recipe for [train] steps; the timed span is the training loop (data
    generation included, setup and any evaluation not), as lengen's train.csv elapsed_s."""
    cfg = read_config(a.workload, a.set)
    L = get(cfg, "model", "layers", 2, int)
    H = get(cfg, "model", "heads", 4, int)
    D = get(cfg, "model", "d_model", 128, int)
    for key, want in (("d_ff", "0"), ("norm", "layernorm"), ("activation", "gelu"), ("bias", "true"),
                      ("tie_embeddings", "true"), ("dropout", "0")):
        if get(cfg, "model", key, want) not in (want, want + ".0"):
            raise SystemExit(f"bench_torch: workload [model] {key} = {get(cfg, 'model', key, want)} is not supported")
    B = get(cfg, "train", "batch_size", 64, int)
    steps = get(cfg, "train", "steps", 2000, int)
    lr = get(cfg, "train", "lr", 1e-3, float)
    min_lr = get(cfg, "train", "min_lr", 1e-4, float)
    warmup = get(cfg, "train", "warmup", 100, int)
    wd = get(cfg, "train", "weight_decay", 0.1, float)
    clip = get(cfg, "train", "grad_clip", 1.0, float)
    b1 = get(cfg, "train", "beta1", 0.9, float)
    b2 = get(cfg, "train", "beta2", 0.99, float)
    if get(cfg, "train", "schedule", "cosine") != "cosine" or get(cfg, "train", "optimizer", "adamw") != "adamw":
        raise SystemExit("bench_torch: workload supports schedule = cosine with optimizer = adamw")
    if get(cfg, "task", "hints", "") or get(cfg, "train", "grad_accum", 1, int) != 1:
        raise SystemExit("bench_torch: workload supports no hints and grad_accum = 1")
    torch.set_num_threads(a.threads)
    torch.manual_seed(get(cfg, "run", "seed", 1, int))
    data = SortData(cfg, B, get(cfg, "run", "seed", 1, int))
    model = WorkloadGPT(data.V, L, H, D, get(cfg, "model", "max_pos", 512, int), get(cfg, "model", "posenc", "nope"),
                        get(cfg, "model", "init_std", 0.02, float))
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(b1, b2), eps=get(cfg, "train", "eps", 1e-8, float))
    t0 = time.perf_counter()
    first = last = None
    for s in range(steps):
        for grp in opt.param_groups:
            grp["lr"] = cosine_lr(s, steps, lr, min_lr, warmup)
        x, y = data.batch()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, data.V), y.reshape(-1), ignore_index=-100)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s == 0:
            first = loss.item()
    last = loss.item()
    wall = time.perf_counter() - t0
    print(f"torch {torch.__version__} workload {a.workload}: L={L} H={H} D={D} B={B} V={data.V}, {n_params} params, "
          f"{a.threads} threads, {steps} steps in {wall:.2f} s ({1e3 * wall / steps:.1f} ms/step), "
          f"loss {first:.4f} -> {last:.4f}")
    print(f"RESULT mode=workload impl=torch params={n_params} steps={steps} wall_s={wall:.3f} "
          f"ms={1e3 * wall / steps:.3f} loss={last:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", help="a lengen config: train its recipe (sort tasks, nope/learned positions)")
    ap.add_argument("--set", action="append", default=[], help="section.key=value over the config, as lengen's --set")
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
    if a.workload:
        train_workload(a)
        return
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
