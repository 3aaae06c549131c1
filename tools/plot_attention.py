#!/usr/bin/python3
"""plot_attention: heatmaps of one example's attention, every layer and head, from a probe file.

    lengen probe runs/sort --length 10 --n 4 --out probe.h5
    tools/plot_attention.py probe.h5                      # example 0 -> probe_ex0.png
    tools/plot_attention.py probe.h5 --example 2 --layers 0,1 --out attn.png

One row of panels per layer, one column per head; in each panel the query position runs down
and the key position across (row = a query's distribution over the keys it may see), cropped
to the example's own tokens. Axis labels are the tokens; a line marks where the answer starts.
The file layout is in docs/probing.md.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def text_attr(f, name):
    v = f.attrs.get(name, "")
    return v.decode() if isinstance(v, bytes) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("probe", help="an HDF5 file written by `lengen probe`")
    ap.add_argument("--example", type=int, default=0, help="which example (row of /tokens), default 0")
    ap.add_argument("--layers", default=None, help="comma-separated layers to draw (default: all)")
    ap.add_argument("--out", default=None, help="PNG to write (default: <probe>_ex<i>.png)")
    ap.add_argument("--dpi", type=int, default=110)
    a = ap.parse_args()

    with h5py.File(a.probe, "r") as f:
        if text_attr(f, "format") != "lengen-probe" or "attn" not in f:
            sys.exit("%s: not a lengen probe file (no format = lengen-probe or no /attn)" % a.probe)
        N = f["tokens"].shape[0]
        if not 0 <= a.example < N:
            sys.exit("%s: --example %d out of range: the file holds %d examples" % (a.probe, a.example, N))
        n = int(f["n_tokens"][a.example])
        prompt = int(f["prompt_len"][a.example])
        vocab = f["vocab"].asstr()[()]
        tokens = f["tokens"][a.example, :n]
        n_layers = len(f["attn"].keys())
        layers = list(range(n_layers)) if a.layers is None else [int(x) for x in a.layers.split(",")]
        for l in layers:
            if not 0 <= l < n_layers:
                sys.exit("%s: layer %d out of range: the model has %d layers" % (a.probe, l, n_layers))
        maps = [f["attn/layer%d" % l][a.example, :, :n, :n] for l in layers]
        title = "%s, length %s, step %s: example %d" % (
            text_attr(f, "task"), f.attrs.get("length"), f.attrs.get("step"), a.example)
        ckpt = text_attr(f, "checkpoint")

    H = maps[0].shape[0]
    labels = [vocab[t].replace("\n", "\\n") for t in tokens]
    cell = max(1.6, min(4.5, 0.16 * n))
    fig, axes = plt.subplots(len(layers), H, figsize=(cell * H + 1.2, cell * len(layers) + 0.9), squeeze=False,
                             constrained_layout=True)
    step = max(1, (n + 39) // 40)       # at most ~40 tick labels per axis
    ticks = list(range(0, n, step))
    fs = 7 if n <= 24 else 5
    for r, (l, m) in enumerate(zip(layers, maps)):
        for h in range(H):
            ax = axes[r][h]
            im = ax.imshow(m[h], cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.axvline(prompt - 0.5, color="white", lw=0.6, ls="--")
            ax.axhline(prompt - 0.5, color="white", lw=0.6, ls="--")
            ax.set_xticks(ticks)
            ax.set_yticks(ticks)
            ax.set_xticklabels([labels[i] for i in ticks], rotation=90, fontsize=fs)
            ax.set_yticklabels([labels[i] for i in ticks], fontsize=fs)
            ax.set_title("layer %d, head %d" % (l, h), fontsize=8)
            if h == 0:
                ax.set_ylabel("query", fontsize=7)
            if r == len(layers) - 1:
                ax.set_xlabel("key", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.6, label="attention probability")
    out = a.out or "%s_ex%d.png" % (os.path.splitext(a.probe)[0], a.example)
    fig.savefig(out, dpi=a.dpi)
    print("%s: %d layers x %d heads, %d tokens (%s) -> %s" % (a.probe, len(layers), H, n, ckpt, out))


if __name__ == "__main__":
    main()
