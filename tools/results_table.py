#!/usr/bin/python3
"""results_table: exact match per length of several runs as one Markdown table.

    tools/results_table.py runs/pe_copy/nope runs/pe_copy/rope ... [--metric token_accuracy]

One row per run (its folder name), one column per evaluated length, from the last evaluated
step of the main task (the first task in eval.csv). Lengths inside the run's training range
(from its config.ini) are marked with *. Rows marked with overrides (an 8th field, from
`lengen eval --set`) are left out. Standard library only.
"""
import argparse
import configparser
import os
import sys

from lengen_csv import csv_rows


def last_step_rows(path):
    rows = csv_rows(path)
    if not rows:
        sys.exit("%s: no evaluation rows" % path)
    main = rows[0]["task"]
    step = max(int(r["step"]) for r in rows if r["task"] == main)
    out = {}
    for r in rows:  # later rows for the same length win (a later `lengen eval` appends)
        if r["task"] == main and int(r["step"]) == step:
            out[int(r["length"])] = r
    return main, step, out


def train_range(run):
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    try:
        cp.read(os.path.join(run, "config.ini"))
        return int(cp["train"]["min_length"]), int(cp["train"]["max_length"])
    except (KeyError, ValueError, configparser.Error):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run folders (each with eval.csv)")
    ap.add_argument("--metric", default="exact_match", choices=["exact_match", "token_accuracy"])
    a = ap.parse_args()
    table, lengths, trange = [], set(), None
    for run in a.runs:
        path = os.path.join(run, "eval.csv")
        if not os.path.isfile(path):
            sys.exit("%s: no eval.csv" % run)
        task, step, rows = last_step_rows(path)
        table.append((os.path.basename(os.path.normpath(run)), task, step, rows))
        lengths |= set(rows)
        trange = trange or train_range(run)
    lengths = sorted(lengths)
    mark = lambda n: "%d*" % n if trange and trange[0] <= n <= trange[1] else str(n)
    print("| run | task | step | " + " | ".join(mark(n) for n in lengths) + " |")
    print("|---|---|---|" + "---|" * len(lengths))
    for name, task, step, rows in table:
        cells = ["%.1f" % (100 * float(rows[n][a.metric])) if n in rows else "-" for n in lengths]
        print("| %s | %s | %d | %s |" % (name, task, step, " | ".join(cells)))
    print("\n%s (%%) at the last evaluated step; * = a training length." % a.metric)


if __name__ == "__main__":
    main()
