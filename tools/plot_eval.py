#!/usr/bin/python3
"""plot_eval: accuracy against length, one curve per run (and task), from runs' eval.csv.

    tools/plot_eval.py runs/pe_nope runs/pe_rope runs/pe_alibi --out pe.png
    tools/plot_eval.py runs/sort/eval.csv --metric token_accuracy --step all --out sort.png

Each RUN is a run folder (its eval.csv) or an eval.csv. By default the main task's rows of the
last evaluated step are drawn; --task picks another task (or `all`), --step a step (or `all`:
one curve per step, to watch generalization appear). Rows repeated for the same step, task and
length (a later `lengen eval` appends to eval.csv) keep the last; rows with an 8th field, the
overrides of a `lengen eval --set` (another model or data than the run's), are left out. The shaded band is the run's
training length range when its config.ini is beside eval.csv.
"""
import argparse
import configparser
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def read_run(arg):
    path = os.path.join(arg, "eval.csv") if os.path.isdir(arg) else arg
    if not os.path.isfile(path):
        sys.exit("%s: no eval.csv (give a run folder or an eval.csv)" % arg)
    rows = {}
    order = []
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        need = {"step", "task", "length", "exact_match", "token_accuracy"}
        if not r.fieldnames or not need <= set(r.fieldnames):
            sys.exit("%s: expected the columns %s, got %s" % (path, sorted(need), r.fieldnames))
        for row in r:
            if row.get(None):  # an `overrides` field: `lengen eval --set`, not the run as trained
                continue
            key = (int(row["step"]), row["task"], int(row["length"]))
            if key not in rows:
                order.append(key)
            rows[key] = row
    if not rows:
        sys.exit("%s: no evaluations yet" % path)
    name = os.path.basename(os.path.dirname(os.path.abspath(path))) or path
    train_range = None
    cfg_path = os.path.join(os.path.dirname(path), "config.ini")
    main_task = rows[order[0]]["task"]
    if os.path.isfile(cfg_path):
        cp = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
        cp.read(cfg_path)
        if cp.has_section("train"):
            train_range = (cp.getint("train", "min_length"), cp.getint("train", "max_length"))
        if cp.has_option("task", "main"):
            main_task = cp.get("task", "main")
    return name, rows, train_range, main_task


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run folders or eval.csv files")
    ap.add_argument("--metric", default="exact_match", choices=["exact_match", "token_accuracy"])
    ap.add_argument("--task", default=None, help="task to draw (default: each run's main task; 'all': every task)")
    ap.add_argument("--step", default="last", help="'last' (default), 'all', or a step number")
    ap.add_argument("--labels", default=None, help="comma-separated curve labels, one per run (default: folder names)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--out", default="eval.png", help="PNG to write (default eval.png)")
    a = ap.parse_args()
    labels = a.labels.split(",") if a.labels else None
    if labels and len(labels) != len(a.runs):
        sys.exit("--labels has %d names for %d runs" % (len(labels), len(a.runs)))

    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    shaded = False
    n_curves = 0
    for i, run in enumerate(a.runs):
        name, rows, train_range, main_task = read_run(run)
        if labels:
            name = labels[i]
        steps = sorted({k[0] for k in rows})
        if a.step == "last":
            steps = steps[-1:]
        elif a.step != "all":
            if int(a.step) not in steps:
                sys.exit("%s: no evaluation at step %s; steps: %s" % (run, a.step, steps))
            steps = [int(a.step)]
        tasks = sorted({k[1] for k in rows}) if a.task == "all" else [a.task or main_task]
        for task in tasks:
            for step in steps:
                pts = sorted((k[2], float(r[a.metric])) for k, r in rows.items() if k[0] == step and k[1] == task)
                if not pts:
                    continue
                label = name
                if len(tasks) > 1 or a.task:
                    label += " " + task
                if len(steps) > 1 or a.step != "last" or len(a.runs) == 1:
                    label += " (step %d)" % step
                ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker="o", ms=3, label=label)
                n_curves += 1
        if train_range and not shaded:
            ax.axvspan(train_range[0] - 0.5, train_range[1] + 0.5, color="0.9", zorder=0, label="training lengths")
            shaded = True
    if n_curves == 0:
        sys.exit("nothing to draw: no rows match --task %s --step %s" % (a.task, a.step))
    ax.set_xlabel("length")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("%s (%%)" % a.metric.replace("_", " "))
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(a.title or "%s against length" % a.metric.replace("_", " "))
    fig.savefig(a.out, dpi=120)
    print("%d curves -> %s" % (n_curves, a.out))


if __name__ == "__main__":
    main()
