"""lengen_csv: reading a run folder's CSVs and a sweep file (its run names), shared by the experiments'
table.py scripts and tools/results_table.py. Standard library only.

    import sys, os; sys.path.insert(0, os.path.join(ROOT, "tools")); import lengen_csv
"""
import configparser
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


class Sweep:
    """A sweep file as `lengen sweep` reads it (docs/sweeps.md): out_dir (the sweep folder,
    <out_dir>/<name>), base (the base config's path), sets {key: value} (the [sweep] set lines),
    axes [(key, [values])] ([grid], in file order; a named axis' key is its NAME) and named
    {NAME: {value: {key: value}}} (the [NAME.value] sections)."""

    def __init__(self, path):
        # `set` repeats: read it by hand, configparser keeps only the last
        self.sets, section = {}, None
        with open(path) as f:
            for line in f:
                s = line.split(";", 1)[0].strip()
                if s.startswith("["):
                    section = s
                elif section == "[sweep]" and s.startswith("set") and "=" in s:
                    k, v = s.split("=", 1)[1].split("=", 1)
                    self.sets[k.strip()] = v.strip()
        cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), strict=False, interpolation=None)
        cp.optionxform = str
        cp.read(path)
        self.out_dir = os.path.join(cp["sweep"].get("out_dir", "runs"), cp["sweep"]["name"])
        self.base = cp["sweep"]["base"]
        self.axes = [(k, [v.strip() for v in vals.split(",") if v.strip()]) for k, vals in cp["grid"].items()]
        self.named = {}
        for sec in cp.sections():
            if "." in sec:
                axis, value = sec.split(".", 1)
                self.named.setdefault(axis, {})[value] = dict(cp[sec].items())

    def runs(self):
        """[(run name, {key: value})] of the grid in the sweep's order: each run's grid keys, a
        named axis' value as {NAME: value} plus the keys its section sets."""
        out = []
        for name, point in sweep_run_names(self.axes):
            full = dict(point)
            for axis, value in point.items():
                full.update(self.named.get(axis, {}).get(value, {}))
            out.append((name, full))
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
