#!/usr/bin/python3
"""errors.py: what a run gets wrong beyond its training lengths, by the first wrong token of
each wrong answer (from `lengen sample`, greedy, on the run's held-out prompts):

- stops early: every token before it is right and the model writes <eos> where the answer goes
  on (reported with the mean number of answer tokens it left out);
- runs on: every answer token is right but the model writes another token instead of <eos>;
- wrong token: a token of the answer itself is wrong.

With --repeats (copy or reverse of random symbols, whose answer holds the input's symbols): how
many wrong answers go wrong right after a symbol that occurs more than once in the input, beside
the share of all answer positions that come after such a symbol (what errors at random places
would give). A model that finds its place by content (find the symbol just written in the input,
write the one after it, or before it for reverse) can go wrong only there.

With --residues (summation: a one-digit answer, the sum mod 10): how far each wrong answer is
from the truth, (model - truth) mod 10, and how many are right mod 2 (off by an even number) or
mod 5 (off by 5). The sum mod 10 is the pair (sum mod 2, sum mod 5), so a model that has learned
one of the two and not the other goes wrong by only even numbers, or only by 5.

    experiments/pe_ablation/errors.py runs/pe_ablation/copy/seed-1_posenc-alibi --lengths 22,26,30,40
    experiments/pe_ablation/errors.py runs/pe_ablation/sum/seed-2_posenc-learned --residues --lengths 4,8,12
    experiments/pe_ablation/errors.py RUN [RUN ...] [--lengths LIST] [--n N] [--pool] [--repeats | --residues]
                                      [--lengen ./lengen]

RUN is a run folder (its ckpt.h5: the run's last step) or a checkpoint. Prints one Markdown
table per run, or with --pool one table of the runs' answers together (e.g. a scheme's seeds).
Meant for tasks whose answer is a sequence ended by <eos> (copy, reverse), or with --residues
one digit (sum).
"""
import argparse
import re
import subprocess
import sys

WRONG = re.compile(r"^\[(.+)\]$")


def classify(model, truth):
    """('right' | 'early' | 'runs_on' | 'token', answer tokens left out, index of the first wrong
    token or -1) of one answer."""
    for k, tok in enumerate(model):
        m = WRONG.match(tok) if len(tok) >= 3 else None
        if not m:
            continue
        wrote = m.group(1)
        if k == len(truth) - 1:
            return "runs_on", 0, k
        if wrote == "<eos>" and k < len(truth) - 1:
            return "early", len(truth) - 1 - k, k
        return "token", 0, k
    return ("right", 0, -1) if len(model) == len(truth) else ("token", 0, len(model))


def after_repeat(truth, k):
    """Whether answer position k comes right after a symbol that occurs more than once in the
    input (truth without its <eos>)."""
    return k >= 1 and truth[:-1].count(truth[k - 1]) > 1


def residue(model, truth):
    """(model digit - truth digit) mod 10 of a one-digit answer, or None if either is not a digit."""
    wrote, want = model[0] if model else "", truth[0]
    m = WRONG.match(wrote)
    wrote = m.group(1) if m else wrote
    if len(wrote) != 1 or len(want) != 1 or not wrote.isdigit() or not want.isdigit():
        return None
    return (int(wrote) - int(want)) % 10


def sample(lengen, run, length, n):
    cmd = [lengen, "sample", run, "--length", str(length), "--n", str(n), "--threads", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    lines = p.stdout.splitlines()
    counts = {"n": 0, "right": 0, "early": 0, "runs_on": 0, "token": 0, "short": 0,
              "wrong_after_repeat": 0, "positions": 0, "positions_after_repeat": 0, "not_a_digit": 0}
    counts.update({"off_%d" % d: 0 for d in range(10)})
    for i, line in enumerate(lines):
        if not re.match(r"^#\d+ (right|WRONG) ", line):
            continue
        if i + 2 >= len(lines) or not lines[i + 1].lstrip().startswith("model:") \
                or not lines[i + 2].lstrip().startswith("truth:"):
            sys.exit("%s: unexpected output after line %d: %s" % (" ".join(cmd), i + 1, line))
        model = lines[i + 1].split(":", 1)[1].split()
        truth = lines[i + 2].split(":", 1)[1].split()
        kind, short, k = classify(model, truth)
        counts["n"] += 1
        counts[kind] += 1
        counts["short"] += short
        counts["wrong_after_repeat"] += kind != "right" and after_repeat(truth, k)
        counts["positions"] += len(truth) - 1
        counts["positions_after_repeat"] += sum(after_repeat(truth, j) for j in range(1, len(truth)))
        if kind != "right":
            d = residue(model, truth)
            counts["not_a_digit" if d is None else "off_%d" % d] += 1
    if counts["n"] != n:
        sys.exit("%s: read %d examples, asked for %d" % (" ".join(cmd), counts["n"], n))
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders or checkpoints")
    ap.add_argument("--lengths", default="22,24,26,28,30,34,40", help="comma-separated lengths")
    ap.add_argument("--n", type=int, default=100, help="held-out prompts per length")
    ap.add_argument("--pool", action="store_true", help="one table of all the runs' answers together")
    ap.add_argument("--lengen", default="./lengen", help="the lengen binary")
    ap.add_argument("--repeats", action="store_true",
                    help="copy or reverse: count wrong answers that go wrong right after a repeated symbol")
    ap.add_argument("--residues", action="store_true",
                    help="sum: (model - truth) mod 10 of each wrong one-digit answer")
    a = ap.parse_args()
    if a.repeats and a.residues:
        sys.exit("--repeats and --residues: give one (--repeats is for copy and reverse, --residues for sum)")
    try:
        lengths = [int(x) for x in a.lengths.split(",")]
    except ValueError:
        sys.exit("--lengths %s: want comma-separated integers, e.g. 22,30,40" % a.lengths)
    groups = [a.runs] if a.pool else [[r] for r in a.runs]
    for runs in groups:
        print("%s (%d held-out prompts per length%s)\n" % (", ".join(runs), a.n, " and run" if len(runs) > 1 else ""))
        if a.residues:
            print("| length | answers | wrong | " + " | ".join("off by %d" % d for d in range(1, 10))
                  + " | right mod 2 | right mod 5 | not a digit |")
            print("|---|---|---|" + "---|" * 12)
        else:
            rep_head, rep_rule = (" after a repeated symbol | positions after one |", "---|---|") if a.repeats else ("", "")
            print("| length | answers | wrong | stops early | tokens left out (mean) | runs on | wrong token |" + rep_head)
            print("|---|---|---|---|---|---|---|" + rep_rule)
        for length in lengths:
            c = {}
            for run in runs:
                for k, v in sample(a.lengen, run, length, a.n).items():
                    c[k] = c.get(k, 0) + v
            wrong = c["n"] - c["right"]
            if a.residues:
                if c["off_0"]:
                    sys.exit("%s: %d wrong answers have the right first digit: not one-digit answers?"
                             % (", ".join(runs), c["off_0"]))
                even = sum(c["off_%d" % d] for d in (2, 4, 6, 8))
                print("| %d | %d | %d | %s | %d | %d | %d |" % (length, c["n"], wrong,
                      " | ".join(str(c["off_%d" % d]) for d in range(1, 10)), even, c["off_5"], c["not_a_digit"]))
                continue
            short = "%.1f" % (c["short"] / c["early"]) if c["early"] else "-"
            rep = ""
            if a.repeats:
                share = "%.0f%%" % (100 * c["wrong_after_repeat"] / wrong) if wrong else "-"
                rep = " %d (%s) | %.0f%% |" % (c["wrong_after_repeat"], share,
                                                100 * c["positions_after_repeat"] / c["positions"])
            print("| %d | %d | %d | %d | %s | %d | %d |%s" % (length, c["n"], wrong, c["early"], short, c["runs_on"],
                                                            c["token"], rep))
        print()

if __name__ == "__main__":
    main()
