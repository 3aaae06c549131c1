#!/bin/sh
# bench_mpi.sh: on one machine, 2 MPI ranks x 1 thread (`mpirun -np 2 ./lengen-mpi train`)
# against 1 process x 2 threads (`./lengen train --threads 2`) on the workload rows of
# `make bench` (the flagship sort recipe and configs/sort.ini), same global batch, same steps
# (`make bench-mpi`). The two are run alternately, ROUNDS times (BENCH_MPI_ROUNDS, default 3),
# so a change in the machine's load hits both; the table gives every round's training wall
# time (train.csv's elapsed_s at the last step: no evaluation, no checkpoint) and the
# allreduce's share as rank 0 measured it. Results go in docs/performance.md.
# BENCH_WORKLOAD_STEPS (default 300) steps each; BENCH_QUICK=1 takes 20 (a smoke run).
set -eu

LENGEN=${LENGEN:-./lengen}
LENGEN_MPI=${LENGEN_MPI:-./lengen-mpi}
ROUNDS=${BENCH_MPI_ROUNDS:-3}
if [ "${BENCH_QUICK:-0}" = 1 ]; then WSTEPS=20; else WSTEPS=${BENCH_WORKLOAD_STEPS:-300}; fi
WORKLOADS="flagship experiments/sort_hinting/base.ini
sort configs/sort.ini"
# as make bench: OpenBLAS's own kernel choice, short libgomp spinning; ranks are not bound to
# cores (the machine may be shared)
unset OPENBLAS_CORETYPE
export GOMP_SPINCOUNT="${BENCH_SPINCOUNT:-10000}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
SETS="--set train.steps=$WSTEPS --set train.warmup=$((WSTEPS / 10)) --set train.log_every=$WSTEPS
      --set train.eval_every=0 --set train.ckpt_every=0 --set eval.n=1 --set run.out_dir=$tmp/runs --force"

wall() { # wall RUN: elapsed_s of train.csv's last row
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "elapsed_s") c = i } NR > 1 { w = $c } END { print w }' \
        "$tmp/runs/$1/train.csv"
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "lengen $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $WSTEPS steps per run, $ROUNDS rounds, GOMP_SPINCOUNT=$GOMP_SPINCOUNT"
echo
echo "| workload | round | 1 process x 2 threads (s) | 2 ranks x 1 thread (s) | ratio (ranks / threads) | allreduce, % of the ranks' wall |"
echo "|---|---|---|---|---|---|"
echo "$WORKLOADS" | while read -r name cfg; do
    r=1
    while [ $r -le "$ROUNDS" ]; do
        # alternate which goes first
        for kind in $( [ $((r % 2)) = 1 ] && echo "t m" || echo "m t"); do
            if [ $kind = t ]; then
                "$LENGEN" train "$cfg" $SETS --set run.name="$name.t$r" --threads 2 --quiet < /dev/null > "$tmp/log" 2>&1 ||
                    { cat "$tmp/log"; exit 1; }
            else
                mpirun -np 2 --bind-to none "$LENGEN_MPI" train "$cfg" $SETS --set run.name="$name.m$r" --threads 1 < /dev/null \
                    > "$tmp/$name.m$r.log" 2>&1 || { cat "$tmp/$name.m$r.log"; exit 1; }
            fi
        done
        t=$(wall "$name.t$r")
        m=$(wall "$name.m$r")
        share=$(sed -n 's/.*ms\/step, \([0-9.]*%\) of the.*/\1/p' "$tmp/$name.m$r.log")
        awk -v n="$name" -v r="$r" -v t="$t" -v m="$m" -v s="$share" \
            'BEGIN { printf "| %s | %d | %.1f | %.1f | %.2f | %s |\n", n, r, t, m, m / t, s }'
        r=$((r + 1))
    done
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
