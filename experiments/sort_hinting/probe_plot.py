#!/usr/bin/python3
"""probe_plot: the sort study's mechanism figure, from `lengen probe --summary`.

    experiments/sort_hinting/probe_plot.py                  # the models below, 50 lists per length
    experiments/sort_hinting/probe_plot.py --n 20 --out /tmp/p.png

For each model it runs `lengen probe CKPT --length n --summary` (teacher-forced, held-out lists,
one thread) at n = 10, 20, 40, 60, 80, 100 and reads, per layer and head, the attention entropy
of the answer queries and the share of their attention on the next element in sorted order
(target 'next'). It writes probe_summary.csv (every number) and a figure of both against length,
one line per head of the last layer, one panel column per model.
"""
import argparse
import csv
import os
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LB = ["--set", "model.temperature=log_beyond", "--set", "model.temperature_base=43"]
# label, checkpoint, extra --set arguments
MODELS = [
    ("plain (repeats)", "models/plain_rep_2l128_s1.h5", []),
    ("plain + log_beyond", "models/plain_rep_2l128_s1.h5", LB),
    ("plain, R10 budget + log_beyond", "models/plain30k_rep_2l128_s1.h5", []),
    ("hinted window (R10) + log_beyond", "models/lb30k_rep_2l128_s3.h5", []),
]
LENGTHS = [10, 20, 40, 60, 80, 100]
ROW = re.compile(r"^\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s*$")


def summary(ckpt, length, n, extra):
    cmd = [os.path.join(ROOT, "lengen"), "probe", ckpt, "--length", str(length), "--n", str(n),
           "--summary", "--threads", "1"] + extra
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("probe_plot: %s failed:\n%s" % (" ".join(cmd), out.stderr))
    rows = []
    for line in out.stdout.splitlines():
        m = ROW.match(line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4)), float(m.group(5))))
    if not rows:
        sys.exit("probe_plot: no summary rows in the output of %s" % " ".join(cmd))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50, help="held-out lists per length (default 50)")
    ap.add_argument("--out", default=os.path.join(HERE, "probe_summary.png"))
    ap.add_argument("--csv", default=os.path.join(HERE, "probe_summary.csv"))
    a = ap.parse_args()

    table = []  # model, length, layer, head, entropy, distance, on_next
    for label, rel, extra in MODELS:
        ckpt = os.path.join(HERE, rel)
        for length in LENGTHS:
            for layer, head, ent, dist, share in summary(ckpt, length, a.n, extra):
                table.append((label, length, layer, head, ent, dist, share))
    with open(a.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "length", "layer", "head", "entropy", "distance", "on_next"])
        w.writerows(table)

    fig, axes = plt.subplots(2, len(MODELS), figsize=(4.2 * len(MODELS), 6.5), sharex=True, sharey="row")
    for c, (label, _, _) in enumerate(MODELS):
        rows = [r for r in table if r[0] == label]
        last = max(r[2] for r in rows)
        for head in sorted({r[3] for r in rows}):
            hr = sorted((r for r in rows if r[2] == last and r[3] == head), key=lambda r: r[1])
            xs = [r[1] for r in hr]
            axes[0][c].plot(xs, [r[4] for r in hr], marker="o", label="head %d" % head)
            axes[1][c].plot(xs, [r[6] for r in hr], marker="o", label="head %d" % head)
        axes[0][c].set_title("%s\n(layer %d)" % (label, last), fontsize=10)
        axes[1][c].set_xlabel("list length n (trained: 1..20)")
        for r in range(2):
            axes[r][c].axvline(20, color="grey", lw=0.8, ls="--")
            axes[r][c].grid(alpha=0.3)
    axes[0][0].set_ylabel("attention entropy (nats)")
    axes[1][0].set_ylabel("share on the next element")
    axes[1][0].legend(fontsize=8)
    fig.suptitle("Sort with repeats: last-layer heads of the answer queries (lengen probe --summary, %d lists)" % a.n,
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("wrote %s and %s" % (a.csv, a.out))


if __name__ == "__main__":
    main()
