"""lengen_csv: reading a run folder's CSVs and a sweep's run names, shared by the experiments'
table.py scripts and tools/results_table.py. Standard library only.

    import sys, os; sys.path.insert(0, os.path.join(ROOT, "tools")); import lengen_csv
"""
import csv
import os


def csv_rows(path):
    """The rows of a train.csv or eval.csv as dicts; [] when the file does not exist. eval.csv
    rows with an 8th (overrides) field come from `lengen eval --set`, not the run as trained,
    and are left out."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if not r.get(None)]


def parse_lengths(spec):
    """The lengths of an [eval] lengths value: numbers and start:stop[:step] ranges (stop
    inclusive), comma separated, as lengen reads them."""
    out = []
    for item in spec.split(","):
        parts = [int(x) for x in item.strip().split(":")]
        if len(parts) == 1:
            out.append(parts[0])
        else:
            out.extend(range(parts[0], parts[1] + 1, parts[2] if len(parts) == 3 else 1))
    return out


def sweep_run_names(axes):
    """[(run name, {key: value})] of a sweep's grid axes [(key, [values])], in the sweep's order
    (last axis fastest), spelled as src/sweep.c spells them (a named axis' key is its NAME)."""
    names = [("", {})]
    for key, vals in axes:
        short = key.rsplit(".", 1)[-1]
        names = [(n + ("_" if n else "") + short + "-" + "".join(c if c.isalnum() or c in "._" else "-" for c in v),
                  dict(point, **{key: v})) for n, point in names for v in vals]
    return names


def train_seconds(rows):
    """Training wall time of a run from its train.csv rows: elapsed_s restarts at 0 when a stopped
    run is resumed, so this sums the last elapsed_s of each stretch (steps redone after a resume
    are counted once: the trainer cut their rows). None without elapsed_s."""
    if not rows or "elapsed_s" not in rows[0]:
        return None
    total, prev = 0.0, 0.0
    for r in rows:
        e = float(r["elapsed_s"])
        if e < prev:   # a resumed stretch starts
            total += prev
        prev = e
    return total + prev
