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

Sample complexity (sample_complexity*.sweep, Teaching Arithmetic): each run trains on a fixed
set of N examples ([train] examples = N) for the sweep's steps; per format and N, exact match at 3
digits at the last evaluation (the run as trained: no step is chosen on these test prompts) as
mean (min..max) over the finished seeds, the smallest N whose mean reaches 95%, and beside it the
best evaluation of each run (the peak; optimistic, as it is chosen on the test prompts, but it
shows a small set's overfitting: a peak well above the last value).

Standard library only; --plot needs matplotlib (PREFIX_lengths.png, PREFIX_samples.png).
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


def curves(d, lengths, n):
    """({step: {length: exact match %}} of the main task, last train step, elapsed s). At the
    sweep's own lengths only the trainer's rows count (its n); rows of other lengths, from a
    later `lengen eval RUN --lengths ...` on the checkpoint, extend the curve."""
    train = csv_rows(os.path.join(d, "train.csv"))
    evals = csv_rows(os.path.join(d, "eval.csv"))
    by_step = {}
    if evals:
        main = evals[0]["task"]
        for r in evals:
            if r["task"] == main and (int(r["length"]) not in lengths or int(r["n"]) == n):
                by_step.setdefault(int(r["step"]), {})[int(r["length"])] = 100 * float(r["exact_match"])
    last = int(train[-1]["step"]) if train else 0
    secs = train_seconds(train)
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


def sc_label(settings):
    """A sample-complexity run's format: the task format, "reverse" for the reversed sum."""
    if settings.get("task.reverse", "false") not in ("false", "no", "0", "off"):
        return "reverse"
    return settings.get("task.format", "plain")


def last_and_peak(by_step):
    """(exact match at 3 digits at the last evaluation, its best over the evaluations), or None."""
    at3 = [em[3] for _, em in sorted(by_step.items()) if 3 in em]
    return (at3[-1], max(at3)) if at3 else None


def sample_complexity(sc_rows):
    """Prints the sample-complexity tables of sc_rows [(format, N, (last, peak) or None while
    pending)]; returns {format: {N: [(last, peak) per finished seed]}}."""
    print("## Sample complexity at 3 digits (Teaching Arithmetic): exact match % at length 3 against the "
          "training-set size N")
    print()
    sc, sizes = {}, sorted({n for _, n, _ in sc_rows if n > 0})
    for label, n, pair in sc_rows:
        if n <= 0:
            continue  # a run on fresh draws: not a point of this table
        runs = sc.setdefault(label, {}).setdefault(n, [])
        if pair is not None:
            runs.append(pair)
    if not sc:
        print("pending: %d runs, none on a fixed training set" % len(sc_rows))
        print()
        return sc
    for title, which in (("last evaluation, mean (min..max) over finished seeds", 0),
                         ("peak over the evaluations (chosen on the test prompts: optimistic)", 1)):
        print("%s:" % title)
        print()
        print("| format | %s |%s" % (" | ".join("N = %d" % n for n in sizes), " fewest N with mean >= 95% |" if which == 0 else ""))
        print("|---|%s%s" % ("---|" * len(sizes), "---|" if which == 0 else ""))
        for label, by_n in sc.items():
            # blank: N is not in this format's sweep; pending: its runs have not finished
            cells = ["" if n not in by_n else "%s%s" % (spread([r[which] for r in by_n[n]]),
                                                         " [%d]" % len(by_n[n]) if by_n[n] else "") for n in sizes]
            first = next((n for n in sizes if by_n.get(n) and statistics.mean(r[0] for r in by_n[n]) >= GOOD), None)
            tail = (" %s |" % (first if first else ("not reached" if any(by_n.values()) else "pending"))) if which == 0 else ""
            print("| %s | %s |%s" % (label, " | ".join(cells), tail))
        print()
    print("[k]: seeds finished; a blank cell: N is not in that format's sweep.")
    print()
    return sc


def recovered(results):
    """The runs whose folders were lost with a machine before their files were archived
    (results/recovered_*.csv, transcribed from tables.md at 96f33b7; see results/README.md):
    ({(sweep, run): (step, {length: exact match %}, train s)} of the length study, at the chosen
    step only; {(format, N): [(last, peak)] per seed} of the sample complexity. Of the latter only
    the two seeds' min and max were kept, of the last and of the peak value separately: the pairs
    are (min, min) and (max, max), which leaves every mean, min and max unchanged)."""
    runs, samples = {}, {}
    path = os.path.join(results, "recovered_runs.csv")
    if not os.path.exists(path):
        return runs, samples
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            step, em, secs = runs.setdefault((r["sweep"], r["run"]), (int(r["step"]), {}, float(r["train_s"])))
            em[int(r["length"])] = float(r["exact_match"])
    kinds = {}
    with open(os.path.join(results, "recovered_samples.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["seeds"] != "2":
                sys.exit("table: recovered_samples.csv: %s N=%s: %s seeds; min and max are the seeds' values only "
                         "for 2" % (r["format"], r["examples"], r["seeds"]))
            kinds.setdefault((r["format"], int(r["examples"])), {})[r["kind"]] = (float(r["min"]), float(r["max"]))
    for key, k in kinds.items():
        samples[key] = [(k["last"][0], k["peak"][0]), (k["last"][1], k["peak"][1])]
    return runs, samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="experiments/arithmetic")
    ap.add_argument("--plot")
    a = ap.parse_args()
    base = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    base.read(os.path.join(a.dir, "base.ini"))
    length_rows, sc_rows = [], []
    kept_runs, kept_samples = recovered(os.path.join(a.dir, "results"))
    recovered_runs = set()   # (format, seed) of the length-study runs read from results/recovered_runs.csv
    for path in sorted(glob.glob(os.path.join(a.dir, "*.sweep"))):
        fmt = os.path.basename(path)[:-len(".sweep")]
        sw = Sweep(path)
        out, sets = sw.out_dir, sw.sets
        train_max = int(sets.get("train.max_length", base["train"]["max_length"]))
        steps = int(sets.get("train.steps", base["train"]["steps"]))
        batch = int(sets.get("train.batch_size", base["train"]["batch_size"]))
        lengths = set(parse_lengths(sets.get("eval.lengths", base["eval"]["lengths"])))
        n_eval = int(sets.get("eval.n", base["eval"]["n"]))
        for name, point in sw.runs():
            by_step, last, secs = curves(os.path.join(out, name), lengths, n_eval)
            done = bool(by_step) and last >= steps
            if fmt.startswith("sample_complexity"):
                label = sc_label(dict(sets, **point))
                n = int(point.get("train.examples", sets.get("train.examples", 0)))
                pair = last_and_peak(by_step) if done else None
                if pair is None and kept_samples.get((label, n)):
                    pair = kept_samples[(label, n)].pop()
                sc_rows.append((label, n, pair))
                continue
            label, seed = fmt if "task.format" not in point else "%s (%s)" % (fmt, point["task.format"]), point.get("run.seed", "1")
            if not done and (os.path.basename(out), name) in kept_runs:
                step, em, secs = kept_runs[(os.path.basename(out), name)]
                by_step, last, done = {step: em}, steps, True
                recovered_runs.add((label, seed))
            length_rows.append((label, seed, train_max, batch, by_step if done else None, last, secs))

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
        print("| %s | %s | %d%s | %s | %.1fx | %s |" % (label, seed, step, " r" if (label, seed) in recovered_runs else "",
              "%.0f" % secs if secs else "", r, " | ".join("%.1f" % em[n] if n in em else "" for n in lengths)))
    if recovered_runs:
        print()
        print("r: %d runs recovered from the tables committed at 96f33b7 (their run folders were lost with a "
              "machine; results/README.md): their chosen step's numbers only" % len(recovered_runs))
    print()
    print("## Length study: per format (mean (min..max) over finished seeds)")
    print()
    print("| format | seeds | extension ratio | published (source) | %s |" % " | ".join(str(n) for n in lengths))
    print("|---|---|---|---|%s" % ("---|" * len(lengths)))
    formats = list(dict.fromkeys(r[0] for r in length_rows))   # every format of the study, in sweep order
    for label in formats:
        rs = per_fmt.get(label, [])
        src, pub = PUBLISHED.get(label, ("", ""))
        # blank where the format's sweep does not evaluate that length (the scratchpads stop short)
        cells = [("" if not any(n in em for _, em in rs) else spread([em[n] for _, em in rs if n in em]))
                 if rs else "pending" for n in lengths]
        print("| %s | %d | %s | %s | %s |" % (label, len(rs), spread([r for r, _ in rs], "%.1fx"),
              "%s (%s)" % (pub, src) if pub else "", " | ".join(cells)))
    print()

    sc = sample_complexity(sc_rows)

    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        if per_fmt:
            fig, ax = plt.subplots(figsize=(7, 4.5))
            # one style per format, fixed over every format of the study (finished or not), so a
            # format keeps its line as runs finish; past ten colours the line is dashed
            for label, rs in per_fmt.items():
                i = formats.index(label)
                ls = sorted(set.intersection(*(set(em) for _, em in rs)))
                ax.plot(ls, [statistics.mean(em[n] for _, em in rs) for n in ls], marker=".", label=label,
                        color=plt.cm.tab10(i % 10), ls="-" if i < 10 else "--")
            ax.axvline(length_rows[0][2], color="gray", lw=0.8, ls=":")
            ax.set_xscale("log")   # the lengths are 5..60: the drop just past training is where the formats differ
            ax.set_xticks(lengths)
            ax.set_xticklabels([str(n) for n in lengths])
            ax.minorticks_off()
            ax.set_xlabel("digits (longer operand)")
            ax.set_ylabel("exact match (%), mean over seeds")
            ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(a.plot + "_lengths.png", dpi=110)
        if sc and any(v for by_n in sc.values() for v in by_n.values()):   # some run finished
            fig, ax = plt.subplots(figsize=(6, 4))
            for label, by_n in sc.items():
                ns = sorted(n for n in by_n if by_n[n])
                if not ns:
                    continue
                last = [[em for em, _ in by_n[n]] for n in ns]
                means = [statistics.mean(v) for v in last]
                ax.errorbar(ns, means, yerr=[[m - min(v) for m, v in zip(means, last)], [max(v) - m for m, v in zip(means, last)]],
                            marker="o", capsize=3, label=label)
            ax.set_xscale("log")
            ax.set_xlabel("training-set size N (examples, trained for the sweep's steps)")
            ax.set_ylabel("exact match at 3 digits (%), last evaluation")
            ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(a.plot + "_samples.png", dpi=110)


if __name__ == "__main__":
    main()
