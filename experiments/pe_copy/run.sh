#!/bin/sh
# Positional-encoding ablation on copy: one run per scheme (same data, same seed), then the
# exact-match table by length into RESULTS.md's raw section and a plot.
#   experiments/pe_copy/run.sh                 # all schemes, seed 1
#   SCHEMES="nope rope" SEED=2 experiments/pe_copy/run.sh
set -eu
cd "$(dirname "$0")/../.."
make -s lengen
SCHEMES=${SCHEMES:-"nope learned sinusoidal t5 alibi rope fire"}
SEED=${SEED:-1}
OUT=${OUT:-runs/pe_copy_seed$SEED}
start=$(date +%s)
runs=""
for pe in $SCHEMES; do
    ./lengen train experiments/pe_copy/base.ini --set model.posenc="$pe" --set run.name="$pe" \
        --set run.out_dir="$OUT" --set run.seed="$SEED" --force --quiet
    runs="$runs $OUT/$pe"
done
echo "seed $SEED, $(($(date +%s) - start)) s for $(echo $SCHEMES | wc -w) runs on $(nproc) cores"
# shellcheck disable=SC2086
/usr/bin/python3 tools/results_table.py $runs
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
    # shellcheck disable=SC2086
    /usr/bin/python3 tools/plot_eval.py $runs --out "$OUT/pe_copy.png"
fi
