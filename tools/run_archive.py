#!/usr/bin/python3
"""run_archive: keeps what a study's finished runs measured in git, so a new machine has it.

    tools/run_archive.py RUNS ARCHIVE     # e.g. runs/pe_ablation experiments/pe_ablation/results

A study's run folders (RUNS/<sweep>/<run>/) are gitignored: their checkpoints are large, and
they live only on the machine that trained them. This copies the small files that hold what a
finished run measured (config.ini, train.csv, eval.csv) between the run folders and a committed
archive (ARCHIVE/<sweep>/<run>/), both ways:
- a run finished in RUNS is saved to ARCHIVE (an older copy that differs is replaced);
- a run finished in ARCHIVE but not in RUNS is restored into RUNS. `lengen sweep` then skips it
  (a run whose train.csv reached [train] steps and that has an eval.csv is finished) and the
  study's table.py reads it as it reads any run.
A run is finished when the last step of its train.csv reaches config.ini's [train] steps and it
has an eval.csv. Unfinished runs are left alone: their checkpoints resume them; so is a run a
process is training now (it holds the folder's lock: a run past its last step is still writing
its final evaluation), until that process ends. Prints one line
per copied run and a count. Standard library only.
"""
import argparse
import configparser
import fcntl
import filecmp
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lengen_csv import csv_rows  # noqa: E402

FILES = ("config.ini", "train.csv", "eval.csv")


def finished(d):
    """True when the run folder d holds a finished run's files."""
    if not all(os.path.isfile(os.path.join(d, f)) for f in FILES):
        return False
    cfg = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
    try:
        cfg.read(os.path.join(d, "config.ini"))
        steps = int(cfg["train"]["steps"])
    except (configparser.Error, KeyError, ValueError):
        return False
    rows = csv_rows(os.path.join(d, "train.csv"))
    try:
        return bool(rows) and int(rows[-1]["step"]) >= steps
    except (KeyError, ValueError):
        return False


def training(d):
    """True while a process holds the run folder d's lock (lengen train: docs/training.md)."""
    try:
        fd = os.open(os.path.join(d, "lock"), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)   # fails only against a holder's LOCK_EX
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def copy_run(src, dst):
    """Copies the run's FILES from src to dst when they differ; True when something changed."""
    if os.path.isdir(dst) and all(os.path.isfile(os.path.join(dst, f)) and
                                  filecmp.cmp(os.path.join(src, f), os.path.join(dst, f), shallow=False)
                                  for f in FILES):
        return False
    os.makedirs(dst, exist_ok=True)
    for f in FILES:
        tmp = os.path.join(dst, "%s.%d.tmp" % (f, os.getpid()))   # two chains may archive at once
        shutil.copyfile(os.path.join(src, f), tmp)
        os.replace(tmp, os.path.join(dst, f))   # a stop mid-copy never leaves half a file
    return True


def run_folders(root):
    """The <sweep>/<run> names of the run folders under root."""
    return {os.path.relpath(d, root) for d in glob.glob(os.path.join(root, "*", "*")) if os.path.isdir(d)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", help="the study's run folders: RUNS/<sweep>/<run>/")
    ap.add_argument("archive", help="the committed archive: ARCHIVE/<sweep>/<run>/")
    a = ap.parse_args()
    if not os.path.isdir(a.runs) and not os.path.isdir(a.archive):
        print("run_archive: neither %s nor %s exists yet: nothing to save or restore" % (a.runs, a.archive))
        return
    saved = restored = 0
    for name in sorted(run_folders(a.runs) | run_folders(a.archive)):
        here, kept = os.path.join(a.runs, name), os.path.join(a.archive, name)
        if training(here):
            continue
        if finished(here):
            if copy_run(here, kept):
                saved += 1
                print("run_archive: saved %s" % name)
        elif finished(kept):
            copy_run(kept, here)
            restored += 1
            print("run_archive: restored %s" % name)
    print("run_archive: %d saved to %s, %d restored to %s" % (saved, a.archive, restored, a.runs))


if __name__ == "__main__":
    main()
