#!/usr/bin/python3
"""make_golden: the PyTorch twin of lengen's decoder, for golden fixtures and round trips.

    tools/make_golden.py                  write tests/data/golden_<name>.h5 for every fixture
    tools/make_golden.py --only rope      just the fixtures whose name contains 'rope'
    tools/make_golden.py --check FILE...  load lengen model files (written by the C test
                                          model_roundtrip_files, see docs/checkpoint.md) into
                                          this PyTorch model and compare its logits with the
                                          /check/logits lengen stored; prints the max abs diff
                                          and exits 1 above the tolerance.

A fixture is a complete lengen model file (attributes format/version/step/config, /model,
/vocab) written by h5py, plus:
    /input/tokens [B, T] i64, /input/targets [B, T] i64, /input/weights [B, T] f32,
    /input/positions [B, T] f32, /input/digit_index [B, T] i64
    /input attribute explicit_positions: 1 when the positions must be passed to the model
    /output/logits [B, T, V] f32, /output/loss [] f32, /grad/<param name> (same shape)
The model here follows src/model.c step by step; docs/model.md states the conventions.
"""
import argparse
import configparser
import math
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PE_NAMES = ["nope", "learned", "sinusoidal", "t5", "alibi", "rope", "fire", "abacus"]

DEFAULTS = dict(
    layers=2, heads=4, d_model=128, d_ff=0, dropout=0.0, norm="layernorm", bias=True,
    activation="gelu", tie_embeddings=True, max_pos=512, init_std=0.02, posenc="nope",
    rope_base=10000.0, rope_fraction=1.0, t5_buckets=32, t5_max_distance=128, t5_shared=True,
    fire_hidden=32, fire_c_init=0.1, fire_L_init=512.0, abacus_max_offset=100,
    abacus_max_digits=128, random_positions=False, random_max_pos=2048, temperature="off",
    temperature_base=20,
)


class Cfg:
    def __init__(self, **kw):
        for k, v in DEFAULTS.items():
            setattr(self, k, kw.pop(k, v))
        if kw:
            raise ValueError("unknown model keys: %s" % sorted(kw))
        self.hd = self.d_model // self.heads
        self.F = self.d_ff or 4 * self.d_model

    def ini(self):
        """The [model] section as lengen writes it (keys = ModelConfig field names)."""
        out = ["[model]"]
        for k in DEFAULTS:
            v = getattr(self, k)
            if isinstance(v, bool):
                v = "true" if v else "false"
            out.append("%s = %s" % (k, v))
        return "\n".join(out) + "\n"


def cfg_from_ini(text):
    cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    cp.read_string(text)
    kw = {}
    for k, v in cp["model"].items():
        if k not in DEFAULTS:
            continue  # keys this twin does not model (none affect the forward)
        d = DEFAULTS[k]
        v = v.strip().strip('"')
        if isinstance(d, bool):
            kw[k] = v.lower() in ("1", "true", "yes", "on")
        elif isinstance(d, int):
            kw[k] = int(v)
        elif isinstance(d, float):
            kw[k] = float(v)
        else:
            kw[k] = v.lower()
    if kw.get("temperature") == "learned":  # the spelling of fixtures written before src/config.c
        kw["temperature"] = "learned_log"
    return Cfg(**kw)


# ---------------------------------------------------------------------------------------------
# the positional pieces (mirrors of src/posenc.c and src/posenc/*.c)

def alibi_slopes(H):
    def pow2(n):
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start ** (i + 1) for i in range(n)]
    p = 2 ** int(math.floor(math.log2(H)))
    s = pow2(p)
    if p < H:
        s += pow2(2 * p)[0::2][: H - p]
    return torch.tensor(s, dtype=torch.float32)


def t5_bucket(d, nb, maxd):
    """d = query position - key position (LongTensor); unidirectional HF T5 buckets."""
    d = torch.clamp(d, min=0)
    max_exact = nb // 2
    small = d < max_exact
    large = max_exact + (torch.log(d.float().clamp(min=1) / max_exact) / math.log(maxd / max_exact)
                         * (nb - max_exact)).to(torch.long)
    large = torch.clamp(large, max=nb - 1)
    return torch.where(small, d, large)


def sinusoid(pos, D):
    """pos [..] float -> [.., D]: cat(sin(p w), cos(p w)), w_i = 10000^(-2i/D)."""
    i = torch.arange(D // 2, dtype=torch.float32)
    w = 1.0 / torch.pow(torch.tensor(10000.0), 2 * i / D)
    a = pos[..., None] * w
    return torch.cat([torch.sin(a), torch.cos(a)], dim=-1)


def rope(x, pos, rot, base):
    """x [B, H, T, hd], pos [B, T]: GPT-J interleaved pairs of the first rot dims."""
    i = torch.arange(rot // 2, dtype=torch.float32)
    inv = torch.pow(torch.tensor(base, dtype=torch.float32), -2 * i / rot)
    ang = pos[:, None, :, None] * inv                    # [B, 1, T, rot/2]
    c, s = torch.cos(ang), torch.sin(ang)
    xr, xp = x[..., :rot], x[..., rot:]
    x0, x1 = xr[..., 0::2], xr[..., 1::2]
    y0 = x0 * c - x1 * s
    y1 = x0 * s + x1 * c
    yr = torch.stack([y0, y1], dim=-1).flatten(-2)
    return torch.cat([yr, xp], dim=-1)


class T5Table(nn.Module):
    def __init__(self, nb, H):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(nb, H))


class Fire(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c = nn.Parameter(torch.tensor([cfg.fire_c_init]))
        self.L = nn.Parameter(torch.tensor([cfg.fire_L_init]))
        self.mlp = nn.Sequential(nn.Linear(1, cfg.fire_hidden), nn.ReLU(), nn.Linear(cfg.fire_hidden, cfg.heads))

    def forward(self, pos):
        """pos [B, T] -> bias [B, H, T, T] (masked entries are hidden later)."""
        c, L = torch.abs(self.c), torch.abs(self.L)
        qi = pos[:, :, None]
        rel = torch.abs(qi - pos[:, None, :])
        m = torch.maximum(qi, L)
        x = torch.log(c * rel + 1) / (torch.log(c * m + 1) + 1e-6)
        return self.mlp(x[..., None]).permute(0, 3, 1, 2)


class PE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg.posenc == "t5":
            if cfg.t5_shared:
                self.t5 = T5Table(cfg.t5_buckets, cfg.heads)
            else:
                self.t5 = nn.ModuleList([T5Table(cfg.t5_buckets, cfg.heads) for _ in range(cfg.layers)])
        if cfg.posenc == "fire":
            self.fire = Fire(cfg)
        if cfg.posenc == "abacus":
            rows = 1 + cfg.abacus_max_digits + max(cfg.abacus_max_offset - 1, 0)
            self.abacus = nn.Embedding(rows, cfg.d_model)


# ---------------------------------------------------------------------------------------------
# the model (mirror of src/model.c)

class Norm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.rms = cfg.norm == "rmsnorm"
        self.weight = nn.Parameter(torch.ones(cfg.d_model))
        if cfg.bias and not self.rms:
            self.bias = nn.Parameter(torch.zeros(cfg.d_model))
        else:
            self.bias = None

    def forward(self, x):
        if self.rms:
            return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * self.weight
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, 1e-5)


class Attn(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg.d_model
        self.qkv = nn.Linear(D, 3 * D, bias=cfg.bias)
        self.proj = nn.Linear(D, D, bias=cfg.bias)
        if cfg.temperature == "learned_log":
            self.temp = nn.Parameter(torch.ones(cfg.heads))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc = nn.Linear(cfg.d_model, cfg.F, bias=cfg.bias)
        self.proj = nn.Linear(cfg.F, cfg.d_model, bias=cfg.bias)
        self.relu = cfg.activation == "relu"

    def forward(self, x):
        h = self.fc(x)
        h = F.relu(h) if self.relu else F.gelu(h, approximate="tanh")
        return self.proj(h)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln1 = Norm(cfg)
        self.attn = Attn(cfg)
        self.ln2 = Norm(cfg)
        self.mlp = MLP(cfg)


class Model(nn.Module):
    def __init__(self, cfg, V):
        super().__init__()
        self.cfg, self.V = cfg, V
        self.tok_emb = nn.Embedding(V, cfg.d_model)
        if cfg.posenc == "learned":
            rows = max(cfg.max_pos, cfg.random_max_pos) if cfg.random_positions else cfg.max_pos
            self.pos_emb = nn.Embedding(rows, cfg.d_model)
        self.pe = PE(cfg)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.layers)])
        self.ln_f = Norm(cfg)
        if not cfg.tie_embeddings:
            self.head = nn.Linear(cfg.d_model, V, bias=False)
        if cfg.posenc == "alibi":
            self.register_buffer("slopes", alibi_slopes(cfg.heads), persistent=False)

    def bias(self, layer, pos):
        c = self.cfg
        if c.posenc == "t5":
            table = self.pe.t5 if c.t5_shared else self.pe.t5[layer]
            d = torch.round(pos[:, :, None] - pos[:, None, :]).long()
            return table.bias[t5_bucket(d, c.t5_buckets, c.t5_max_distance)].permute(0, 3, 1, 2)
        if c.posenc == "alibi":
            return -self.slopes[None, :, None, None] * (pos[:, None, :, None] - pos[:, None, None, :])
        if c.posenc == "fire":
            return self.pe.fire(pos)
        return None

    def forward(self, tokens, pos, digit_index):
        c = self.cfg
        B, T = tokens.shape
        H, hd, D = c.heads, c.hd, c.d_model
        x = self.tok_emb(tokens)
        if c.posenc == "learned":
            x = x + self.pos_emb(torch.round(pos).long())
        elif c.posenc == "sinusoidal":
            x = x + sinusoid(pos, D)
        elif c.posenc == "abacus":
            x = x + self.pe.abacus(digit_index)
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        row = torch.ones(T)
        if c.temperature != "off":
            row = torch.log(torch.arange(1, T + 1, dtype=torch.float32)) / math.log(c.temperature_base)
        rot = 0
        if c.posenc == "rope":
            rot = int(c.rope_fraction * hd + 1e-4)
            rot -= rot % 2
        for l, blk in enumerate(self.blocks):
            h = blk.ln1(x)
            q, k, v = blk.attn.qkv(h).split(D, dim=-1)
            q, k, v = [t.view(B, T, H, hd).transpose(1, 2) for t in (q, k, v)]
            if rot:
                q, k = rope(q, pos, rot, c.rope_base), rope(k, pos, rot, c.rope_base)
            a = (q @ k.transpose(-1, -2)) / math.sqrt(hd) * row[None, None, :, None]
            if c.temperature == "learned_log":
                a = a * blk.attn.temp[None, :, None, None]
            b = self.bias(l, pos)
            if b is not None:
                a = a + b
            a = a.masked_fill(~mask, float("-inf")).softmax(-1)
            o = (a @ v).transpose(1, 2).reshape(B, T, D)
            x = x + blk.attn.proj(o)
            x = x + blk.mlp(blk.ln2(x))
        x = self.ln_f(x)
        w = self.tok_emb.weight if c.tie_embeddings else self.head.weight
        return x @ w.t()


def masked_loss(logits, targets, weights):
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    w = weights.reshape(-1)
    return (w * nll).sum() / max(1, int((w > 0).sum()))


# ---------------------------------------------------------------------------------------------
# fixtures

FIXTURES = [
    # name, model keys, batch options
    ("nope", dict(posenc="nope", temperature="log", temperature_base=4), {}),
    ("learned", dict(posenc="learned", tie_embeddings=False, activation="relu", max_pos=16,
                     random_positions=True, random_max_pos=64), dict(random=True)),
    ("sinusoidal", dict(posenc="sinusoidal", norm="rmsnorm", bias=False), {}),
    ("t5", dict(posenc="t5", t5_buckets=8, t5_max_distance=20, random_positions=True,
                random_max_pos=64), dict(random=True)),
    ("t5_layers", dict(posenc="t5", t5_buckets=8, t5_max_distance=12, t5_shared=False), {}),
    ("alibi", dict(posenc="alibi", heads=3, d_model=12, temperature="learned_log", temperature_base=3), {}),
    ("rope", dict(posenc="rope", random_positions=True, random_max_pos=100), dict(random=True)),
    ("rope25", dict(posenc="rope", d_model=16, heads=2, rope_fraction=0.25, rope_base=100.0,
                    norm="rmsnorm", tie_embeddings=False), {}),
    ("fire", dict(posenc="fire", fire_hidden=6, fire_L_init=3.5, temperature="learned_log",
                  temperature_base=5), {}),
    ("abacus", dict(posenc="abacus", abacus_max_digits=8, abacus_max_offset=4, activation="relu"),
     dict(digits=True)),
]

BASE = dict(layers=2, heads=2, d_model=8, d_ff=16, max_pos=16)
V, B, T = 10, 2, 7


def make_batch(gen, opts):
    tokens = torch.randint(0, V, (B, T), generator=gen)
    targets = torch.randint(0, V, (B, T), generator=gen)
    weights = torch.ones(B, T)
    weights[0, :2] = 0          # prompt tokens carry no loss
    weights[1, 4:] = 0          # row 1 is right-padded after 4 tokens
    weights[1, 1] = 0.5         # per-task loss weights scale a token's share
    if opts.get("random"):
        pos = torch.stack([torch.sort(torch.randperm(64, generator=gen)[:T])[0] for _ in range(B)]).float()
    else:
        pos = torch.arange(T, dtype=torch.float32).repeat(B, 1)
    digit = torch.zeros(B, T, dtype=torch.long)
    if opts.get("digits"):
        digit[0, 1:4] = torch.tensor([1, 2, 3])   # a 3-digit number
        digit[0, 5:7] = torch.tensor([1, 2])
        digit[1, 0:5] = torch.tensor([1, 2, 3, 4, 5])
    return tokens, targets, weights, pos, digit


def perturb(model, gen):
    """Random, not-too-small values everywhere so every gradient path is exercised."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("fire.c") or name.endswith("fire.L"):
                continue
            if name.endswith("attn.temp"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
            elif ".ln" in name or name.startswith("ln_f"):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))


def write_model_file(f, model, config_text, step=0):
    str_t = h5py.string_dtype("utf-8")
    f.attrs.create("format", "lengen", dtype=str_t)
    f.attrs["version"] = np.int32(1)
    f.attrs["step"] = np.int64(step)
    f.attrs.create("config", config_text, dtype=str_t)
    for name, p in model.named_parameters():
        f.create_dataset("model/" + name, data=p.detach().numpy().astype(np.float32))
    f.create_dataset("vocab", data=np.array(["t%d" % i for i in range(model.V)], dtype=object), dtype=str_t)


def make_fixture(name, keys, opts, outdir):
    seed = sum(ord(ch) for ch in name)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cfg = Cfg(**dict(BASE, **keys))
    model = Model(cfg, V)
    perturb(model, gen)
    tokens, targets, weights, pos, digit = make_batch(gen, opts)
    logits = model(tokens, pos, digit)
    loss = masked_loss(logits, targets, weights)
    model.zero_grad()
    loss.backward()
    path = os.path.join(outdir, "golden_%s.h5" % name)
    # small contiguous datasets keep a fixture at a few KB (chunk indexes would dominate)
    with h5py.File(path + ".tmp", "w", libver=("v110", "v110")) as f:
        write_model_file(f, model, cfg.ini())
        gi = f.create_group("input")
        gi.attrs["explicit_positions"] = np.int32(1 if opts.get("random") else 0)
        gi["tokens"] = tokens.numpy().astype(np.int64)
        gi["targets"] = targets.numpy().astype(np.int64)
        gi["weights"] = weights.numpy().astype(np.float32)
        gi["positions"] = pos.numpy().astype(np.float32)
        gi["digit_index"] = digit.numpy().astype(np.int64)
        go = f.create_group("output")
        go["logits"] = logits.detach().numpy().astype(np.float32)
        go["loss"] = np.float32(loss.item())
        for pname, p in model.named_parameters():
            f.create_dataset("grad/" + pname, data=p.grad.numpy().astype(np.float32))
    os.replace(path + ".tmp", path)
    print("%-12s loss %.6f  params %5d  -> %s (%d bytes)" % (
        name, loss.item(), sum(p.numel() for p in model.parameters()), path, os.path.getsize(path)))


# ---------------------------------------------------------------------------------------------
# round trip: a lengen-written model file into PyTorch

def check(path, tol):
    with h5py.File(path, "r") as f:
        fmt = f.attrs["format"]
        fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        if fmt != "lengen":
            raise SystemExit("%s: format attribute is %r, not 'lengen'" % (path, fmt))
        text = f.attrs["config"]
        text = text.decode() if isinstance(text, bytes) else str(text)
        cfg = cfg_from_ini(text)
        vocab = f["vocab"].asstr()[()]
        model = Model(cfg, len(vocab))
        state = {}
        for name, p in model.named_parameters():
            if "model/" + name not in f:
                raise SystemExit("%s: dataset /model/%s missing" % (path, name))
            arr = f["model/" + name][()]
            if tuple(arr.shape) != tuple(p.shape):
                raise SystemExit("%s: /model/%s has shape %s, PyTorch expects %s" % (path, name, arr.shape, tuple(p.shape)))
            state[name] = torch.from_numpy(arr)
        extra = set("model/" + k for k in f["model"].keys()) - set("model/" + n for n, _ in model.named_parameters())
        if extra:
            raise SystemExit("%s: datasets PyTorch does not know: %s" % (path, sorted(extra)))
        model.load_state_dict(state, strict=False)
        tokens = torch.from_numpy(f["check/tokens"][()].astype(np.int64))
        Bc, Tc = tokens.shape
        pos = torch.arange(Tc, dtype=torch.float32).repeat(Bc, 1)
        digit = torch.zeros(Bc, Tc, dtype=torch.long)
        if "check/digit_index" in f:
            digit = torch.from_numpy(f["check/digit_index"][()].astype(np.int64))
        want = torch.from_numpy(f["check/logits"][()])
    with torch.no_grad():
        got = model(tokens, pos, digit)
    diff = (got - want).abs().max().item()
    ok = diff <= tol
    print("%s: posenc %-10s %d params, logits %s, max abs diff %.3g %s" % (
        path, cfg.posenc, sum(p.numel() for p in model.parameters()), tuple(got.shape), diff,
        "ok" if ok else "FAIL (tolerance %g)" % tol))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))
    ap.add_argument("--only", default=None, help="only fixtures whose name contains this")
    ap.add_argument("--check", nargs="+", metavar="FILE", help="compare lengen model files with PyTorch")
    ap.add_argument("--tol", type=float, default=1e-4, help="max abs logit difference for --check")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.check:
        ok = all([check(p, a.tol) for p in a.check])
        sys.exit(0 if ok else 1)
    os.makedirs(a.out, exist_ok=True)
    for name, keys, opts in FIXTURES:
        if a.only and a.only not in name:
            continue
        make_fixture(name, keys, opts, a.out)


if __name__ == "__main__":
    main()
