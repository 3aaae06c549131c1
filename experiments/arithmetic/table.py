#!/usr/bin/python3
"""table: the arithmetic-format study's tables and plots, from the runs of its sweeps.

    experiments/arithmetic/table.py [--dir experiments/arithmetic] [--plot PREFIX]

Length study (every *.sweep but sample_complexity*): for each run, the evaluated step with the
best mean exact match over the lengths <= [train] max_length (the checkpoint chosen on
validation at the training lengths; the latest such step on ties), its exact match per length,
and its length-extension ratio: the longest evaluated length L such that every evaluated length
up to L has >= 95% exact match, divided by the longest training length. Per format: ratio and
exact match as mean (min..max) over the finished seeds, beside the published ratio of the
format's source.

Sample complexity (sample_complexity*.sweep, Teaching Arithmetic): exact match at 3 digits
against the training examples seen (step x batch size), mean over seeds, and the fewest examples
after which a format's mean reaches 95%.

Standard library only; --plot needs matplotlib (PREFIX_lengths.png, PREFIX_samples.png).
"""
import argparse
import configparser
import glob
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from lengen_csv import csv_rows, sweep_run_names as run_names  # noqa: E402

# Longest test length with >= 95% exact match / longest training length, as the issue lists
# them (papers.md; Zhou, Alon et al. 2024, Fig. 1).
PUBLISHED = {
    "plain": ("Lee et al. 2023 (plain)", "1.0x"),
    "reverse_answer": ("Lee et al. 2023 (reverse)", "1.0x"),
    "simple": ("Lee et al. 2023 (scratchpad)", "1.0x"),
    "detailed": ("Lee et al. 2023 (scratchpad)", "1.0x"),
    "steps": ("Kazemnejad et al. 2023 (NoPE, scratchpad)", "about 1.1x"),
    "index_hints": ("Zhou et al. 2023 (RASP-L index hints)", "1.5x"),
    "fire_recipe": ("Zhou, Alon et al. 2024", "2.5x"),
    "abacus": ("McLeish et al. 2024", "6x"),
    "coupled": ("Cho et al. 2024", "6.7x"),
}
GOOD = 95.0


def read_sweep(path):
    sets, section = {}, None
    with open(path) as f:
        for line in f:
            s = line.split(";", 1)[0].strip()
            if s.startswith("["):
                section = s
            elif section == "[sweep]" and s.startswith("set") and "=" in s:
                k, v = s.split("=", 1)[1].split("=", 1)
                sets[k.strip()] = v.strip()
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    cp.read(path)
    out = os.path.join(cp["sweep"].get("out_dir", "runs"), cp["sweep"]["name"])
    axes = [(k, [v.strip() for v in vals.split(",")]) for k, vals in cp["grid"].items()]
    return out, sets, axes


def curves(d):
    """({step: {length: exact match %}} of the main task, last train step, elapsed s)."""
    train = csv_rows(os.path.join(d, "train.csv"))
    evals = csv_rows(os.path.join(d, "eval.csv"))
    by_step = {}
    if evals:
        main = evals[0]["task"]
        for r in evals:
            if r["task"] == main:
                by_step.setdefault(int(r["step"]), {})[int(r["length"])] = 100 * float(r["exact_match"])
    last = int(train[-1]["step"]) if train else 0
    secs = float(train[-1]["elapsed_s"]) if train and "elapsed_s" in train[-1] else None
    return by_step, last, secs


def chosen(by_step, train_max):
    best = None
    for step in sorted(by_step):
        ind = [v for n, v in by_step[step].items() if n <= train_max]
        score = statistics.mean(ind) if ind else 0.0
        if best is None or score >= best[0]:
            best = (score, step)
    return best[1]


def ratio(em, train_max):
    top = 0
    for n in sorted(em):
        if em[n] < GOOD:
            break
        top = n
    return top / train_max


def spread(vals, fmt="%.1f"):
    if not vals:
        return "pending"
    m = statistics.mean(vals)
    return (fmt % m) + (" (%s..%s)" % (fmt % min(vals), fmt % max(vals)) if len(vals) > 1 else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="experiments/arithmetic")
    ap.add_argument("--plot")
    a = ap.parse_args()
    base = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    base.read(os.path.join(a.dir, "base.ini"))
    length_rows, sc_rows = [], []
    for path in sorted(glob.glob(os.path.join(a.dir, "*.sweep"))):
        fmt = os.path.basename(path)[:-len(".sweep")]
        out, sets, axes = read_sweep(path)
        train_max = int(sets.get("train.max_length", base["train"]["max_length"]))
        steps = int(sets.get("train.steps", base["train"]["steps"]))
        batch = int(sets.get("train.batch_size", base["train"]["batch_size"]))
        for name, point in run_names(axes):
            by_step, last, secs = curves(os.path.join(out, name))
            done = bool(by_step) and last >= steps
            label = fmt if "task.format" not in point else "%s (%s)" % (fmt, point["task.format"])
            row = (label, point.get("run.seed", "1"), train_max, batch, by_step if done else None, last, secs)
            (sc_rows if fmt.startswith("sample_complexity") else length_rows).append(row)

    lengths = sorted({n for r in length_rows if r[4] for s in r[4].values() for n in s})
    if not lengths:  # nothing finished yet: the planned lengths of base.ini (a plain list)
        lengths = [int(x) for x in base["eval"]["lengths"].split(",")]
    print("## Length study: one row per run (exact match % at the step chosen on lengths <= the training maximum)")
    print()
    print("| format | seed | step | train s | ratio | %s |" % " | ".join(str(n) for n in lengths))
    print("|---|---|---|---|---|%s" % ("---|" * len(lengths)))
    per_fmt = {}
    for label, seed, tm, batch, by_step, last, secs in length_rows:
        if by_step is None:
            state = "pending" + (" (stopped at step %d, resumable)" % last if last else "")
            print("| %s | %s | %s | | | %s |" % (label, seed, state, " | ".join("" for _ in lengths)))
            continue
        step = chosen(by_step, tm)
        em = by_step[step]
        r = ratio(em, tm)
        per_fmt.setdefault(label, []).append((r, em))
        print("| %s | %s | %d | %s | %.1fx | %s |" % (label, seed, step, "%.0f" % secs if secs else "", r,
              " | ".join("%.1f" % em[n] if n in em else "" for n in lengths)))
    print()
    print("## Length study: per format (mean (min..max) over finished seeds)")
    print()
    print("| format | seeds | extension ratio | published (source) | %s |" % " | ".join(str(n) for n in lengths))
    print("|---|---|---|---|%s" % ("---|" * len(lengths)))
    for label in dict.fromkeys(r[0] for r in length_rows):
        rs = per_fmt.get(label, [])
        src, pub = PUBLISHED.get(label, ("", ""))
        cells = [spread([em[n] for _, em in rs if n in em]) if rs else "pending" for n in lengths]
        print("| %s | %d | %s | %s | %s |" % (label, len(rs), spread([r for r, _ in rs], "%.1fx"),
              "%s (%s)" % (pub, src) if pub else "", " | ".join(cells)))
    print()

    print("## Sample complexity at 3 digits (Teaching Arithmetic), exact match % at length 3, mean over seeds")
    print()
    sc = {}
    for label, seed, tm, batch, by_step, last, secs in sc_rows:
        if by_step is not None:
            sc.setdefault(label, []).append({s * batch: em.get(3) for s, em in by_step.items() if 3 in em})
    if not sc:
        print("pending: %d runs, none finished" % len(sc_rows))
    for label, runs in sc.items():
        xs = sorted(set.intersection(*(set(r) for r in runs)))
        means = [(x, statistics.mean(r[x] for r in runs)) for x in xs]
        first = next((x for x, m in means if m >= GOOD), None)
        print("- %s (%d seeds): %s; first >= 95%%: %s" % (label, len(runs),
              ", ".join("%dk: %.0f" % (x // 1000, m) for x, m in means[::5]),
              "%d examples" % first if first else "not reached"))

    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        if per_fmt:
            fig, ax = plt.subplots(figsize=(7, 4.5))
            for label, rs in per_fmt.items():
                ls = sorted(set.intersection(*(set(em) for _, em in rs)))
                ax.plot(ls, [statistics.mean(em[n] for _, em in rs) for n in ls], marker=".", label=label)
            ax.axvline(length_rows[0][2], color="gray", lw=0.8, ls="--")
            ax.set_xlabel("digits (longer operand)")
            ax.set_ylabel("exact match (%), mean over seeds")
            ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(a.plot + "_lengths.png", dpi=110)
        if sc:
            fig, ax = plt.subplots(figsize=(6, 4))
            for label, runs in sc.items():
                xs = sorted(set.intersection(*(set(r) for r in runs)))
                ax.plot(xs, [statistics.mean(r[x] for r in runs) for x in xs], label=label)
            ax.set_xscale("log")
            ax.set_xlabel("training examples seen")
            ax.set_ylabel("exact match at 3 digits (%)")
            ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(a.plot + "_samples.png", dpi=110)


if __name__ == "__main__":
    main()
