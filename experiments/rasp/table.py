#!/usr/bin/python3
"""table: the RASP-L experiment's tables and plot, from the runs of experiments/rasp/rasp.sweep.

    experiments/rasp/table.py [--sweep experiments/rasp/rasp.sweep] [--plot FILE.png]

Reads the sweep file's grid (task.main x run.seed) and, for each run, <out_dir>/<name>/eval.csv
(exact match per length at the last evaluated step), train.csv (last step, elapsed_s) and
config.ini. Prints two Markdown tables: one row per run (pending runs marked, with the step a
stopped run reached), and one row per task: the generator, the program's size from
`lengen rasp stats` (RASP-L programs only), and exact match (%) at each evaluated length as the
median over the finished seeds with the min..max range. Standard library only; --plot needs
matplotlib. Run from the repository root (it calls ./lengen).
"""
import argparse
import configparser
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from lengen_csv import Sweep, csv_rows, train_seconds  # noqa: E402

TRAIN_MAX = 20  # [train] max_length of base.ini; the plot marks it


def read_sweep(path):
    sw = Sweep(path)
    base = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    base.read(sw.base)
    try:  # the planned lengths, so pending rows have their columns (a plain list in base.ini)
        planned = [int(x) for x in base["eval"]["lengths"].split(",")]
    except (KeyError, ValueError):
        planned = []
    return sw, planned


def planned_steps(d):
    """[train] steps of the run's own config.ini (its resolved config), or None."""
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    if not cp.read(os.path.join(d, "config.ini")):
        return None
    try:
        return int(cp["train"]["steps"])
    except (KeyError, ValueError):
        return None


def run_result(d):
    """(step, {length: exact match %}, train seconds) of a finished run, or (step reached, None, None).
    A run is finished when its last evaluation is at its configured step count: runs evaluate
    along the way (eval_every), so an eval.csv alone does not mean the run is done."""
    train = csv_rows(os.path.join(d, "train.csv"))
    evals = csv_rows(os.path.join(d, "eval.csv"))
    step = int(train[-1]["step"]) if train else 0
    if not evals:
        return step, None, None
    main = evals[0]["task"]
    last = max(int(r["step"]) for r in evals if r["task"] == main)
    if last != planned_steps(d):
        return step, None, None
    em = {int(r["length"]): 100 * float(r["exact_match"]) for r in evals
          if r["task"] == main and int(r["step"]) == last}
    return last, em, train_seconds(train)


def pct(x):
    """A range end: whole percentages bare, others to one decimal (99.5 must not print as 100)."""
    return "%.0f" % x if abs(x - round(x)) < 1e-9 else "%.1f" % x


def program_stats(task):
    """(operations, depth) of a rasp:NAME task's program, from `lengen rasp stats`; None otherwise."""
    if not task.startswith("rasp:"):
        return None
    out = subprocess.run(["./lengen", "rasp", "stats", task[5:]], capture_output=True, text=True, check=True).stdout
    kv = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    return int(kv["operations"]), int(kv["depth"])


GENERATOR = {
    "copy": "built-in copy (mode=random, alphabet 64)",
    "addition": "built-in addition (format=plain)",
    "parity": "built-in parity (scratchpad=false)",
}


def generator(task):
    if task.startswith("rasp:"):
        return "program configs/rasp/%s.rasp" % task[5:]
    return GENERATOR.get(task, "built-in " + task)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweep", default="experiments/rasp/rasp.sweep")
    ap.add_argument("--plot")
    a = ap.parse_args()
    sw, planned = read_sweep(a.sweep)
    out = sw.out_dir
    runs, lengths, by_task, tasks = [], set(planned), {}, []
    for name, point in sw.runs():
        task, seed = point.get("task.main", "?"), point.get("run.seed", "1")
        if task not in tasks:
            tasks.append(task)
        step, em, secs = run_result(os.path.join(out, name))
        runs.append((name, task, seed, step, em, secs))
        if em is not None:
            lengths.update(em)
            by_task.setdefault(task, []).append(em)
    lengths = sorted(lengths)
    cols = " | ".join("n=%d" % n for n in lengths)

    print("| run | task | seed | step | train s | %s |" % cols)
    print("|---|---|---|---|---|%s" % ("---|" * len(lengths)))
    for name, task, seed, step, em, secs in runs:
        if em is None:
            state = "pending" + (" (at step %d; resumable)" % step if step else "")
            print("| %s | %s | %s | %s | | %s |" % (name, task, seed, state, " | ".join("" for _ in lengths)))
        else:
            print("| %s | %s | %s | %d | %.0f | %s |" % (name, task, seed, step, secs or 0,
                  " | ".join("%.1f" % em[n] if n in em else "" for n in lengths)))
    print()

    print("| task | generator | RASP-L program: operations, depth | seeds | %s |" % cols)
    print("|---|---|---|---|%s" % ("---|" * len(lengths)))
    summary = {}
    for task in tasks:
        st = program_stats(task)
        size = "%d, %d" % st if st else "none known (not RASP-L)"
        ems = by_task.get(task, [])
        cells = []
        for n in lengths:
            vals = [e[n] for e in ems if n in e]
            if not vals:
                cells.append("pending")
                continue
            med = statistics.median(vals)
            summary.setdefault(task, {})[n] = (med, min(vals), max(vals))
            cells.append("%.1f (%s..%s)" % (med, pct(min(vals)), pct(max(vals))) if len(vals) > 1 else "%.1f" % med)
        print("| %s | %s | %s | %d | %s |" % (task, generator(task), size, len(ems), " | ".join(cells)))

    if a.plot and summary:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 4.8))
        for task in tasks:
            if task not in summary:
                continue
            xs = sorted(summary[task])
            med = [summary[task][x][0] for x in xs]
            lo = [summary[task][x][0] - summary[task][x][1] for x in xs]
            hi = [summary[task][x][2] - summary[task][x][0] for x in xs]
            rasp = task.startswith("rasp:")
            st = program_stats(task)
            label = "%s (%s)" % (task, "%d ops, depth %d" % st if st else "not RASP-L")
            ax.errorbar(xs, med, yerr=[lo, hi], marker="o" if rasp else "s", capsize=3,
                        ls="-" if rasp else "--", label=label)
        ax.axvline(TRAIN_MAX, color="grey", ls=":", lw=1)
        ax.set_xlabel("length n (trained on 1..%d; each task's own length unit)" % TRAIN_MAX)
        ax.set_ylabel("exact match (%), median and range over seeds")
        ax.set_ylim(-3, 103)
        ax.set_xticks(lengths)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax.set_title("RASP-L-simple tasks (solid) vs not (dashed), same model and budget")
        fig.tight_layout()
        fig.savefig(a.plot, dpi=110)
        print("\nplot: %s" % a.plot)


if __name__ == "__main__":
    main()
