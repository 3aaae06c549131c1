#!/usr/bin/python3
"""table: the positional-encoding ablation's tables and plot, from the runs of its sweeps.

    experiments/pe_ablation/table.py [--dir experiments/pe_ablation] [--plot FILE.png]

Reads every *.sweep file of the folder (its out_dir/name, the task and its training length from
the `set` lines, the grid) and, for each run, eval.csv and train.csv. The checkpoint of a run is
chosen on validation at the training lengths, as the issue asks: among the evaluated steps, the
one with the best mean exact match over the evaluated lengths <= [train] max_length (the latest
such step on ties). At that step it reports in-distribution accuracy (mean over those lengths)
and out-of-distribution accuracy (mean over the longer ones: the NoPE paper's "test acc overall"
averages its OOD buckets the same way).

Prints Markdown: one row per run (pending runs marked; a run whose in-distribution mean is
below 95% is marked * as not converged), OOD accuracy per task and scheme (mean and min..max over
seeds, and where not all converged, how many did and their mean), and the mean reciprocal rank of the
schemes beside the NoPE paper's. Standard library only; --plot needs matplotlib (per-length curves, one panel per task, mean over seeds).
"""
import argparse
import configparser
import csv
import glob
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from lengen_csv import Sweep, csv_rows, parse_lengths, train_seconds  # noqa: E402

# The NoPE paper's MRR (no scratchpad; McGill-NLP/length-generalization notebook, papers.md).
PAPER_MRR = {"nope": 0.687, "t5": 0.549, "alibi": 0.502, "rope25": 0.330, "sinusoidal": 0.215}
CONVERGED = 95.0
# Tasks and schemes in the order run.sh trains them (cheapest task first; LEGO last); others after.
TASK_ORDER = ["parity", "copy", "rdc", "cmc", "reverse", "sum", "lego"]
SCHEME_ORDER = ["nope", "learned", "sinusoidal", "t5", "alibi", "rope", "rope25", "fire", "t5+rand", "alibi+rand", "fire+rand"]
# The NoPE paper's mean OOD exact match (%, 3 seeds, 40K steps; papers.md) on the tasks that have
# a sweep here: copy rsc, copy rdc, copy cmc, reverse mc.
PAPER_OOD = {
    "copy": {"nope": 98.6, "t5": 77.1, "alibi": 28.9, "rope25": 0.0, "sinusoidal": 0.0},
    "rdc": {"nope": 96.7, "t5": 93.9, "alibi": 17.0, "rope25": 1.6, "sinusoidal": 0.0},
    "cmc": {"nope": 30.5, "t5": 42.0, "alibi": 33.1, "rope25": 1.1, "sinusoidal": 2.8},
    "reverse": {"nope": 23.0, "t5": 24.2, "alibi": 17.1, "rope25": 7.7, "sinusoidal": 2.3},
}


def scheme_label(sets, point):
    cfg = dict(sets, **point)   # a grid point (or a named axis' section) wins over the set lines
    pe = cfg.get("model.posenc", "nope")
    if pe == "rope" and float(cfg.get("model.rope_fraction", "1")) < 1:
        pe = "rope25"
    if cfg.get("model.random_positions", "false") == "true":
        pe += "+rand"
    return pe


def run_result(d, train_max, steps, lengths, n):
    """None for a run that has not finished, else a dict: step (chosen), id, ood, em {length: %}, secs.
    Only the trainer's own evaluations count: rows of the sweep's lengths and n, so a later
    `lengen eval RUN --lengths ...` (appended to the same eval.csv) cannot change what the
    table compares."""
    train = csv_rows(os.path.join(d, "train.csv"))
    evals = csv_rows(os.path.join(d, "eval.csv"))
    last = int(train[-1]["step"]) if train else 0
    if not evals or last < steps:
        return {"reached": last}
    main = evals[0]["task"]
    by_step = {}
    for r in evals:
        if r["task"] == main and int(r["length"]) in lengths and int(r["n"]) == n:
            by_step.setdefault(int(r["step"]), {})[int(r["length"])] = 100 * float(r["exact_match"])
    best = None
    for step in sorted(by_step):
        em = by_step[step]
        ind = [v for n, v in em.items() if n <= train_max]
        score = statistics.mean(ind) if ind else 0.0
        if best is None or score >= best[0]:
            best = (score, step)
    em = by_step[best[1]]
    ood = [v for n, v in em.items() if n > train_max]
    return {"step": best[1], "id": best[0], "ood": statistics.mean(ood) if ood else float("nan"), "em": em,
            "secs": train_seconds(train)}


def recovered(results):
    """{(sweep, run): result} of the runs whose folders were lost with a machine before their
    files were archived (results/recovered_*.csv, transcribed from tables.md at 96f33b7; see
    results/README.md). Only the mean over a cell's recovered seeds was kept per length, so each
    such run carries that mean as its per-length curve: every mean over seeds is unchanged."""
    path = os.path.join(results, "recovered_runs.csv")
    if not os.path.exists(path):
        return {}
    cell = {}
    with open(os.path.join(results, "recovered_lengths.csv"), newline="") as f:
        for r in csv.DictReader(f):
            c = cell.setdefault((r["task"], r["scheme"]), {"seeds": int(r["seeds"]), "em": {}})
            c["em"][int(r["length"])] = float(r["exact_match_mean"])
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            c = cell[(r["task"], r["scheme"])]
            out[(r["sweep"], r["run"])] = {"step": int(r["step"]), "id": float(r["in_dist"]), "ood": float(r["ood"]),
                                           "em": c["em"], "secs": float(r["train_s"]), "recovered": True}
    for (task, scheme), c in cell.items():   # the curve is a mean over exactly these runs
        n = sum(1 for (sw, run), r in out.items() if r["em"] is c["em"])
        if n != c["seeds"]:
            sys.exit("table: %s/%s: recovered_lengths.csv averages %d seeds, recovered_runs.csv has %d runs"
                     % (task, scheme, c["seeds"], n))
    return out


def fmt_spread(vals):
    if not vals:
        return "pending"
    m = statistics.mean(vals)
    return "%.1f (%.0f..%.0f, %d)" % (m, min(vals), max(vals), len(vals)) if len(vals) > 1 else "%.1f (1)" % m


def ranks(scores):
    """Competition ranks (1 = best; ties share the better rank) of {scheme: score}."""
    order = sorted(scores.values(), reverse=True)
    return {k: 1 + order.index(v) for k, v in scores.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="experiments/pe_ablation")
    ap.add_argument("--plot")
    a = ap.parse_args()
    base = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    base.read(os.path.join(a.dir, "base.ini"))
    steps_default = int(base["train"]["steps"])
    runs, tasks, schemes = [], [], []
    kept = recovered(os.path.join(a.dir, "results"))
    for path in sorted(glob.glob(os.path.join(a.dir, "*.sweep"))):
        sw = Sweep(path)
        out, sets = sw.out_dir, sw.sets
        task = os.path.basename(path).split("_")[0].replace(".sweep", "")
        train_max = int(sets.get("train.max_length", base["train"]["max_length"]))
        steps = int(sets.get("train.steps", steps_default))
        lengths = set(parse_lengths(sets.get("eval.lengths", base["eval"]["lengths"])))
        n_eval = int(sets.get("eval.n", base["eval"]["n"]))
        for name, point in sw.runs():
            label = scheme_label(sets, point)
            res = run_result(os.path.join(out, name), train_max, steps, lengths, n_eval)
            if "em" not in res and (os.path.basename(out), name) in kept:
                res = kept[(os.path.basename(out), name)]
            runs.append((task, label, point.get("run.seed", "1"), os.path.join(out, name), train_max, res))
            if task not in tasks:
                tasks.append(task)
            if label not in schemes:
                schemes.append(label)

    def order(names, known):
        return sorted(names, key=lambda x: known.index(x) if x in known else len(known))

    tasks, schemes = order(tasks, TASK_ORDER), order(schemes, SCHEME_ORDER)
    runs.sort(key=lambda r: (tasks.index(r[0]), schemes.index(r[1]), r[2]))
    print("| task | scheme | seed | chosen step | train s | in-dist | OOD |")
    print("|---|---|---|---|---|---|---|")
    for task, label, seed, d, train_max, r in runs:
        if "em" not in r:
            state = "pending" + (" (stopped at step %d, resumable)" % r["reached"] if r["reached"] else "")
            print("| %s | %s | %s | %s | | | |" % (task, label, seed, state))
        else:
            print("| %s | %s | %s | %d%s | %s | %.1f%s | %.1f |" % (task, label, seed, r["step"], " r" if r.get("recovered") else "",
                  "%.0f" % r["secs"] if r["secs"] is not None else "", r["id"], " *" if r["id"] < CONVERGED else "",
                  r["ood"]))
    n_rec = sum(1 for *_, r in runs if r.get("recovered"))
    if n_rec:
        print()
        print("r: %d runs recovered from the tables committed at 96f33b7 (their run folders were lost with a "
              "machine; results/README.md): only their per-length mean over seeds was kept, which every "
              "per-length table and the plot use unchanged" % n_rec)
    print()

    cell = {}
    for task, label, seed, d, train_max, r in runs:
        if "em" in r:
            cell.setdefault((task, label), []).append(r)
    print("OOD exact match (%%): mean (min..max, seeds) at the step chosen on the training lengths, over every "
          "finished seed; *k/n: only k of its n finished seeds converged (in-distribution mean >= %.0f%%; the "
          "runs above marked *), and the mean OOD of those k" % CONVERGED)
    print()
    print("| scheme | %s |" % " | ".join(tasks))
    print("|---|%s" % ("---|" * len(tasks)))
    for s in schemes:
        cells = []
        for t in tasks:
            rs = cell.get((t, s), [])
            txt = fmt_spread([r["ood"] for r in rs])
            converged = sum(r["id"] >= CONVERGED for r in rs)
            if converged < len(rs):
                txt += " *%d/%d" % (converged, len(rs))
                if converged:
                    txt += "; converged %.1f" % statistics.mean(r["ood"] for r in rs if r["id"] >= CONVERGED)
            cells.append(txt)
        print("| %s | %s |" % (s, " | ".join(cells)))
    print()

    # per task: exact match per length (mean over finished seeds), what the plot draws
    for t in tasks:
        rows = [(s, cell[(t, s)]) for s in schemes if (t, s) in cell]
        if not rows:
            continue
        lens = sorted(set.intersection(*(set(r["em"]) for _, rs in rows for r in rs)))
        tm = next(tm for tt, _, _, _, tm, _ in runs if tt == t)
        print("%s: exact match (%%) per length, mean over finished seeds (lengths <= %d are trained); "
              "wall s: mean training wall time a run (one thread, beside one other run)" % (t, tm))
        print()
        print("| scheme | seeds | %s | wall s |" % " | ".join(str(n) for n in lens))
        print("|---|---|%s---|" % ("---|" * len(lens)))
        for s, rs in rows:
            secs = [r["secs"] for r in rs if r["secs"] is not None]
            print("| %s | %d | %s | %s |" % (s, len(rs), " | ".join("%.0f" % statistics.mean(r["em"][n] for r in rs)
                                                                for n in lens),
                                             "%.0f" % statistics.mean(secs) if secs else ""))
        print()

    print("Beside the NoPE paper's OOD exact match (%), on the tasks it reports: paper / ours (mean over seeds)")
    print()
    print("| task | %s |" % " | ".join(PAPER_MRR))
    print("|---|%s" % ("---|" * len(PAPER_MRR)))
    for t in tasks:
        if t not in PAPER_OOD:
            continue
        cells = []
        for s in PAPER_MRR:
            rs = cell.get((t, s), [])
            ours = "%.1f" % statistics.mean(r["ood"] for r in rs) if rs else "pending"
            cells.append("%.1f / %s" % (PAPER_OOD[t][s], ours))
        print("| %s | %s |" % (t, " | ".join(cells)))
    print()

    # MRR: per task, schemes ranked by mean OOD accuracy over seeds; tasks where some compared
    # scheme has no finished run are left out (and named).
    def mrr(names):
        total, used = {s: 0.0 for s in names}, []
        for t in tasks:
            scores = {}
            for s in names:
                rs = cell.get((t, s), [])
                if not rs:
                    break
                scores[s] = statistics.mean(r["ood"] for r in rs)
            else:
                rk = ranks(scores)
                for s in names:
                    total[s] += 1.0 / rk[s]
                used.append(t)
        return {s: total[s] / len(used) for s in names} if used else None, used

    ours5, used5 = mrr(list(PAPER_MRR))
    ours_all, used_all = mrr(schemes)
    print("Mean reciprocal rank over tasks (schemes ranked by mean OOD exact match per task)")
    print()
    print("| scheme | NoPE paper (5 schemes) | ours, same 5 | ours, all %d schemes |" % len(schemes))
    print("|---|---|---|---|")
    for s in schemes:
        print("| %s | %s | %s | %s |" % (s, "%.3f" % PAPER_MRR[s] if s in PAPER_MRR else "",
              "%.3f" % ours5[s] if ours5 and s in ours5 else ("pending" if s in PAPER_MRR else ""),
              "%.3f" % ours_all[s] if ours_all else "pending"))
    print()
    print("Tasks in the 5-scheme MRR: %s; in the all-scheme MRR: %s" % (", ".join(used5) or "none yet",
          ", ".join(used_all) or "none yet"))

    if a.plot and cell:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        shown = [t for t in tasks if any(k[0] == t for k in cell)]   # tasks with a finished run
        # One style per scheme in every panel: a colour per base scheme, its randomized-positions
        # variant in the same colour, dashed, so each pair reads side by side.
        bases = [s for s in schemes if not s.endswith("+rand")]
        colour = {s: plt.cm.tab10(i % 10) for i, s in enumerate(bases)}
        style = {s: dict(color=colour[s], ls="-") for s in bases}
        style.update({s: dict(color=colour.get(s[:-len("+rand")], "black"), ls="--")
                      for s in schemes if s.endswith("+rand")})
        cols = min(4, len(shown))
        rows = (len(shown) + cols - 1) // cols
        fig, axs = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows + 0.6), squeeze=False)
        for i, t in enumerate(shown):
            ax = axs[i // cols][i % cols]
            for s in schemes:
                rs = cell.get((t, s), [])
                if not rs:
                    continue
                lens = sorted(set.intersection(*(set(r["em"]) for r in rs)))
                ax.plot(lens, [statistics.mean(r["em"][n] for r in rs) for n in lens], marker=".", label=s,
                        **style[s])
            tm = next(tm for tt, _, _, _, tm, _ in runs if tt == t)
            ax.axvline(tm, color="gray", lw=0.8, ls=":")
            ax.set_title(t)
            ax.set_xlabel("length")
            ax.set_ylim(-2, 102)
            if i % cols == 0:
                ax.set_ylabel("exact match (%), mean over seeds")
        for j in range(len(shown), rows * cols):
            axs[j // cols][j % cols].axis("off")
        handles = [plt.Line2D([], [], marker=".", **style[s]) for s in schemes]
        fig.legend(handles, schemes, loc="lower center", ncol=min(len(schemes), 11), fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0.6 / (3.2 * rows + 0.6), 1, 1))
        fig.savefig(a.plot, dpi=110)
        print("\nplot: %s" % a.plot)


if __name__ == "__main__":
    main()
