#!/usr/bin/python3
"""table: the runs table of the sort-hinting study, from runs/sort_hinting/<name>/test.csv.

    experiments/sort_hinting/table.py [--out runs/sort_hinting] [--plot FILE.png] [--select REGEX]

One row per variant of variants.txt that has finished (test.csv), in file order: its overrides,
the step best.h5 was chosen at (validation exact match at n = 35), wall time, and exact match (%)
per test length on 500 held-out lists; a second row "+log_beyond" for the same model evaluated
with temperature = log_beyond, base 43 (test_lb.csv). Unfinished variants are listed as such. Standard library
only; --plot needs matplotlib; --select draws only the runs whose name matches REGEX.
"""
import argparse
import re
import csv
import os


def variants(path):
    out = []
    for line in open(path):
        if line.startswith("#") or "|" not in line:
            continue
        name, sets = line.split("|", 1)
        out.append((name.strip(), sets.split()))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="runs/sort_hinting")
    ap.add_argument("--plot")
    ap.add_argument("--select", help="plot only the runs whose name matches this regular expression")
    a = ap.parse_args()
    rows, lengths, curves = [], [], {}
    for name, sets in variants(os.path.join(here, "variants.txt")):
        d = os.path.join(a.out, name)
        test = os.path.join(d, "test.csv")
        if not os.path.exists(test):
            state = "not started"
            if os.path.exists(os.path.join(d, "ckpt.h5")):
                rows_csv = list(csv.reader(open(os.path.join(d, "train.csv"))))
                state = "stopped at step %s (resumable)" % (rows_csv[-1][0] if len(rows_csv) > 1 else "0")
            rows.append((name, sets, None, None, None, state))
            continue
        secs = sum(int(s) for s in open(os.path.join(d, "train_seconds")).read().split())
        for label, fname in (("", "test.csv"), (" +log_beyond", "test_lb.csv")):
            path = os.path.join(d, fname)
            if not os.path.exists(path):
                continue
            with open(path, newline="") as f:
                r = list(csv.DictReader(f))
            em = {int(x["length"]): 100 * float(x["exact_match"]) for x in r}
            for n in em:
                if n not in lengths:
                    lengths.append(n)
            rows.append((name + label, sets, int(r[0]["step"]), secs, em, "done"))
            curves[name + label] = em
    lengths.sort()
    print("| run | overrides on base.ini | best step | train min | " + " | ".join("n=%d" % n for n in lengths) + " |")
    print("|---|---|---|---|" + "---|" * len(lengths))
    for name, sets, step, secs, em, state in rows:
        ov = " ".join(s.replace("task.", "").replace("model.", "").replace("train.", "") for s in sets)
        if em is None:
            print("| %s | %s | %s | | %s |" % (name, ov, state, " | ".join("" for _ in lengths)))
        else:
            print("| %s | %s | %d | %.0f | %s |" % (name, ov, step, secs / 60,
                  " | ".join("%.1f" % em[n] if n in em else "" for n in lengths)))
    if a.plot and curves:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(10, 5))
        for name, em in curves.items():
            if a.select and not re.search(a.select, name):
                continue
            xs = sorted(em)
            ax.plot(xs, [em[x] for x in xs], marker="o", label=name,
                    ls="--" if name.endswith("+log_beyond") else "-")
        ax.axvline(20, color="grey", ls=":", lw=1)
        ax.set_xlabel("list length n (trained on 1..20)")
        ax.set_ylabel("exact match (%)")
        ax.set_ylim(-2, 102)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        fig.tight_layout()
        fig.savefig(a.plot, dpi=110)


main()
