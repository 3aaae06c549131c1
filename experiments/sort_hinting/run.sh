#!/bin/sh
# Sort-hinting study (issue 9): trains every variant of variants.txt (or those named in
# $ONLY, space separated) into runs/sort_hinting/<name>/, two one-thread runs side by side,
# then evaluates each run's best.h5 at the test lengths into <run>/test.csv, and (for models
# trained without a temperature) once more with temperature = log_beyond into test_lb.csv.
#   experiments/sort_hinting/run.sh                 # everything not finished yet
#   ONLY="plain_rep_2l128_s1" experiments/sort_hinting/run.sh
#   JOBS=1 experiments/sort_hinting/run.sh          # one run at a time
# Resumable: a run with test.csv is skipped, one with ckpt.h5 resumes where it stopped.
set -eu
cd "$(dirname "$0")/../.."
make -s lengen
EXP=experiments/sort_hinting
OUT=${OUT:-runs/sort_hinting}
JOBS=${JOBS:-2}
TEST_LENGTHS=${TEST_LENGTHS:-10,20,30,40,50,60,80,100}
TEST_N=${TEST_N:-500}
LB_BASE=${LB_BASE:-43}
mkdir -p "$OUT"
# processes that share the two cores must not spin-wait in libgomp
export OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=0

one() {  # one NAME SETS...
    name=$1; shift
    dir=$OUT/$name
    [ -f "$dir/test.csv" ] && { echo "$name: done"; return 0; }
    sets=""
    for kv in "$@"; do sets="$sets --set $kv"; done
    start=$(date +%s)
    if [ -f "$dir/ckpt.h5" ]; then
        # shellcheck disable=SC2086
        ./lengen train --resume "$dir" --quiet >>"$OUT/$name.log" 2>&1 || { echo "$name: train failed (see $OUT/$name.log)"; return 0; }
    else
        # shellcheck disable=SC2086
        ./lengen train $EXP/base.ini --set run.out_dir="$OUT" --set run.name="$name" $sets --force --quiet \
            >"$OUT/$name.log" 2>&1 || { echo "$name: train failed (see $OUT/$name.log)"; return 0; }
    fi
    mid=$(date +%s)
    echo "$((mid - start))" >>"$dir/train_seconds"
    ./lengen eval "$dir/best.h5" --lengths "$TEST_LENGTHS" --n "$TEST_N" --threads 1 --set eval.hints=false \
        >"$dir/test.txt" 2>&1 || { echo "$name: test eval failed"; return 0; }
    # the test rows are the ones `lengen eval` just appended to best.h5's eval.csv
    n_len=$(echo "$TEST_LENGTHS" | tr ',' '\n' | wc -l)
    { head -1 "$dir/eval.csv"; tail -n "$n_len" "$dir/eval.csv"; } >"$dir/test.csv.tmp" && mv "$dir/test.csv.tmp" "$dir/test.csv"
    # the same test with log_beyond (identity up to the longest training sequence, 2*20+3 = 43
    # tokens; log-length sharpening beyond), for models trained without a temperature
    if grep -q '^temperature = off' "$dir/config.ini"; then
        ./lengen eval "$dir/best.h5" --lengths "$TEST_LENGTHS" --n "$TEST_N" --threads 1 --set eval.hints=false \
            --set model.temperature=log_beyond --set model.temperature_base="$LB_BASE" >"$dir/test_lb.txt" 2>&1 ||
            { echo "$name: log_beyond test eval failed"; return 0; }
        { head -1 "$dir/eval.csv"; tail -n "$n_len" "$dir/eval.csv"; } >"$dir/test_lb.csv.tmp" && mv "$dir/test_lb.csv.tmp" "$dir/test_lb.csv"
    fi
    echo "$name: trained in $(cat "$dir/train_seconds" | paste -sd+ | bc) s, tested in $(($(date +%s) - mid)) s"
}

if [ "${1:-}" = --one ]; then shift; one "$@"; exit 0; fi

grep -v '^#' $EXP/variants.txt | grep '|' | while IFS='|' read -r name sets; do
    name=$(echo "$name" | tr -d ' ')
    if [ -n "${ONLY:-}" ]; then case " $ONLY " in *" $name "*) ;; *) continue ;; esac; fi
    echo "$name $sets"
done | xargs -P "$JOBS" -L 1 "$EXP/run.sh" --one
