#!/bin/sh
# bench_sweep.sh: how a sweep should use this machine's cores (`make bench` runs it last).
#
# Trains the same grid of 8 short runs of the flagship sort recipe (experiments/sort_hinting/
# base.ini: 4 seeds x 2 value settings, SWEEP_STEPS steps each, one evaluation at the end)
# twice with `lengen sweep`: W = cores workers of one thread each (the default), then one
# worker of `cores` threads (the runs one after another, each using every core). It prints
# both wall times, their ratio, and checks each sweep's results.csv against its runs'
# eval.csv (the last evaluated step of every run, as docs/sweeps.md says). Needs the machine
# to itself. BENCH_QUICK=1: 30 steps per run (a smoke test, not numbers to report).
set -eu

LENGEN=${LENGEN:-./lengen}
CORES=$(nproc)
if [ "${BENCH_QUICK:-0}" = 1 ]; then STEPS=30; else STEPS=${SWEEP_STEPS:-400}; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/sweep.ini" <<EOF
[sweep]
base = experiments/sort_hinting/base.ini
name = timing
out_dir = $tmp/PLACE
set = train.steps=$STEPS
set = train.warmup=$((STEPS / 10))
set = train.eval_every=$STEPS
set = train.ckpt_every=$STEPS
set = train.log_every=$STEPS
set = eval.lengths=10,20,30
set = eval.n=100

[grid]
task.main = sort, sort_unique
run.seed = 1, 2, 3, 4
EOF

# one_sweep PLACE WORKERS THREADS: prints the wall time in seconds
one_sweep() {
    sed "s|PLACE|$1|" "$tmp/sweep.ini" > "$tmp/$1.ini"
    t0=$(date +%s.%N)
    "$LENGEN" sweep "$tmp/$1.ini" --workers "$2" --threads "$3" --quiet > "$tmp/$1.out" 2>&1 ||
        { cat "$tmp/$1.out" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }'
}

# check_table PLACE: every results.csv row equals its run's eval.csv at the run's last step
check_table() {
    dir="$tmp/$1/timing"
    awk -F, -v dir="$dir" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) len[i] = $i; next }
        {
            run = $1; rows++
            f = dir "/" run "/eval.csv"; last = -1
            while ((getline line < f) > 0) {
                split(line, c, ",")
                if (c[1] ~ /^[0-9]+$/) {
                    if (c[1] + 0 >= last) { if (c[1] + 0 > last) delete em; last = c[1] + 0; em[c[3]] = c[5] }
                }
            }
            close(f)
            for (i in len) if ($i + 0 != em[len[i]] + 0) { printf "MISMATCH %s length %s: table %s, eval.csv %s\n", run, len[i], $i, em[len[i]]; bad++ }
        }
        END { if (rows != 8) { printf "expected 8 rows, got %d\n", rows; bad++ } exit bad > 0 }' "$dir/results.csv"
}

export OMP_WAIT_POLICY=passive
echo "sweep of 8 runs ($STEPS steps each, flagship recipe, sort and sort_unique x 4 seeds) on $CORES cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
par=$(one_sweep par "$CORES" 1)
check_table par && echo "  $CORES workers x 1 thread: $par s; results.csv matches the runs' eval.csv"
seq=$(one_sweep seq 1 "$CORES")
check_table seq && echo "  1 worker x $CORES threads: $seq s; results.csv matches the runs' eval.csv"
echo "$par $seq" | awk -v c="$CORES" '{ printf "  side by side takes %.2f of the time of one %d-thread run after another (%.2fx faster)\n", $1 / $2, c, $2 / $1 }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
