#!/usr/bin/python3
"""sum_logits.py: which circle a summation model reads its answer from.

Summation's answer is the sum s mod 10, one digit predicted at the '=' token. The ten digit
logits there, as a function of the digit d, are split into Fourier components e^(2 pi i f d / 10),
f = 1..5 (f and 10 - f are the same real component). A model that keeps s as a point on a circle
at frequency f, the angle 2 pi f s / 10, and reads the digit off it has logits ~ cos(2 pi f (d - s)
/ 10), so one f carries their variance. Odd f (1, 3) tell all ten sums apart; even f (2, 4) tell
only s mod 5, and s mod 2 then needs f = 5. One step off on the circle of f makes the answer
wrong by +-f^-1 mod 10 (f = 1: +-1; f = 3: +-7, i.e. -+3), the errors `errors.py --residues` counts.

Prints, per probe file, how many answers are right and the share of the digit logits' variance
(summed over examples, after removing each example's mean) at each f.

    ./lengen probe runs/pe_ablation/sum/seed-1_posenc-nope/best.h5 --length 8 --n 200 --out /tmp/nope8.h5
    experiments/pe_ablation/sum_logits.py /tmp/nope8.h5 [more probe files]
"""
import sys

import h5py
import numpy as np

WEIGHT = np.array([2, 2, 2, 2, 1])   # f and 10 - f make one real component; f = 5 is its own


def shares(path):
    """(right answers, examples, variance share at f = 1..5) of one `lengen probe` file."""
    try:
        h = h5py.File(path, "r")
    except OSError as e:
        sys.exit("%s: cannot open it as HDF5 (%s); give a file written by `lengen probe ... --out FILE`" % (path, e))
    with h:
        fmt = h.attrs.get("format", "")
        if (fmt.decode() if isinstance(fmt, bytes) else str(fmt)) != "lengen-probe":
            sys.exit("%s: not a lengen probe file (no format = lengen-probe); give a file written by "
                     "`lengen probe ... --out FILE`" % path)
        tokens, logits = h["tokens"][:], h["logits"][:]
        vocab = list(h["vocab"].asstr()[()])
    if "=" not in vocab or any(str(d) not in vocab for d in range(10)):
        sys.exit("%s: its vocabulary has no '=' or not every digit: probe a summation run" % path)
    digits = [vocab.index(str(d)) for d in range(10)]
    eq = vocab.index("=")
    power, right = np.zeros(5), 0
    for i in range(tokens.shape[0]):
        at = np.where(tokens[i] == eq)[0]
        if len(at) != 1 or at[0] + 1 >= tokens.shape[1]:
            sys.exit("%s: example %d has no single '=' followed by its answer" % (path, i))
        p = int(at[0])
        row = logits[i, p, digits].astype(float)
        truth = vocab[tokens[i, p + 1]]
        right += str(int(np.argmax(row))) == truth
        spectrum = np.fft.fft(row - row.mean())
        power += np.abs(spectrum[1:6]) ** 2 * WEIGHT
    return right, tokens.shape[0], power / power.sum()


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    rows = [(path,) + shares(path) for path in sys.argv[1:]]
    print("| probe file | right | f = 1 | f = 2 | f = 3 | f = 4 | f = 5 |")
    print("|---|---|---|---|---|---|---|")
    for path, right, n, share in rows:
        print("| %s | %d/%d | %s |" % (path, right, n, " | ".join("%.2f" % s for s in share)))


if __name__ == "__main__":
    main()
