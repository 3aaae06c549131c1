#!/bin/sh
# bench.sh: lengen against PyTorch on the CPU, side by side, in one run (`make bench`).
#
# Synthetic rows: for each of three GPT configurations (tiny, small, medium) it runs `lengen bench` and
# tools/bench_torch.py one after the other (interleaved, so a disturbance hits both), both
# with the same thread count (2 by default; BENCH_THREADS overrides), then measures this
# machine's sgemm ceiling (`lengen bench --sgemm`) and KV-cache decoding against full
# recompute (`lengen bench --decode`), and prints a markdown table with the ratios.
# Workload rows: ready sort configs trained by `lengen train` against the same recipe in
# PyTorch, as training wall time, one thread each at the same time and two threads alone, with
# the environment's OPENBLAS_CORETYPE and with OpenBLAS's own choice (see WORKLOADS below).
# Last, tools/bench_sweep.sh times a sweep of 8 short runs both ways (BENCH_SWEEP=0 skips it).
# BENCH_QUICK=1 takes fewer steps (a smoke test, not numbers to report).
set -eu

LENGEN=${LENGEN:-./lengen}
PY=${PYTHON:-/usr/bin/python3}
THREADS=${BENCH_THREADS:-2}
QUICK=${BENCH_QUICK:-0}
# The environment's OpenBLAS setting, kept for the workload rows' "as it is" columns.
ENV_CORETYPE_SET=${OPENBLAS_CORETYPE+1}
ENV_CORETYPE=${OPENBLAS_CORETYPE:-}
# One OpenBLAS kernel set for both sides: OpenBLAS's own CPU detection (it picks Cooperlake,
# AVX-512, on this AMD EPYC) unless BENCH_CORETYPE names one. An inherited OPENBLAS_CORETYPE
# is dropped: the environment this was built in pins Haswell (AVX2, half the sgemm speed).
if [ -n "${BENCH_CORETYPE:-}" ]; then
    export OPENBLAS_CORETYPE="$BENCH_CORETYPE"
else
    unset OPENBLAS_CORETYPE
fi
# libgomp spins on barriers by default; on a machine shared with other work that turns every
# parallel region into a scheduler slice (docs/architecture.md). Both sides get the same short
# spin; BENCH_SPINCOUNT overrides (e.g. BENCH_SPINCOUNT=infinity for libgomp's default).
export GOMP_SPINCOUNT="${BENCH_SPINCOUNT:-10000}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name L H D T B steps warmup
if [ "$QUICK" = 1 ]; then
    CONFIGS="tiny 2 4 64 64 64 5 2
small 4 4 256 128 32 2 1
medium 6 8 512 256 16 1 1"
else
    CONFIGS="tiny 2 4 64 64 64 40 3
small 4 4 256 128 32 10 2
medium 6 8 512 256 16 4 2"
fi

# Workload rows: ready configs trained by `lengen train` (real data, padding, loss masks,
# logging) against the same recipe in PyTorch (bench_torch.py --workload), as training wall
# time for WSTEPS steps (lengen: train.csv's elapsed_s at the last step; torch: its loop).
# name config
WORKLOADS="flagship experiments/sort_hinting/base.ini
sort configs/sort.ini"
if [ "$QUICK" = 1 ]; then WSTEPS=20; else WSTEPS=${BENCH_WORKLOAD_STEPS:-300}; fi
WSETS="--set train.steps=$WSTEPS --set train.warmup=$((WSTEPS / 10)) --set train.log_every=$WSTEPS"

field() { # field KEY FILE: the value of KEY= on the RESULT line
    sed -n 's/^RESULT .*[ ]'"$1"'=\([^ ]*\).*/\1/p' "$2" | tail -n 1
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "lengen $(git rev-parse --short HEAD 2>/dev/null || echo '?'), torch $($PY -c 'import torch; print(torch.__version__)'), $THREADS threads, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset (OpenBLAS detects)}, GOMP_SPINCOUNT=$GOMP_SPINCOUNT"
echo

"$LENGEN" bench --sgemm --threads "$THREADS" > "$tmp/sgemm" || { cat "$tmp/sgemm"; exit 1; }
sgemm=$(field gflops "$tmp/sgemm")
echo "sgemm ceiling: $sgemm GFLOP/s"

echo "$CONFIGS" | while read -r name L H D T B S W; do
    args="--layers $L --heads $H --d-model $D --seq $T --batch $B --steps $S --warmup $W --threads $THREADS"
    "$LENGEN" bench $args > "$tmp/$name.lengen" || { cat "$tmp/$name.lengen"; exit 1; }
    "$PY" tools/bench_torch.py $args > "$tmp/$name.torch" || { cat "$tmp/$name.torch"; exit 1; }
    sed -n '2,3p' "$tmp/$name.lengen" | sed "s/^/  $name lengen:/"
    sed -n '2p' "$tmp/$name.torch" | sed "s/^/  $name torch: /"
done

"$LENGEN" bench --decode --threads "$THREADS" > "$tmp/decode" || { cat "$tmp/decode"; exit 1; }

# run_lengen NAME CONFIG THREADS OUT: trains and writes "RESULT wall_s=..." to OUT
run_lengen() {
    "$LENGEN" train "$2" $WSETS --set train.eval_every=0 --set train.ckpt_every=0 --set eval.n=1 \
        --set run.threads="$3" --set run.out_dir="$tmp/runs" --set run.name="$1" --force --quiet > "$4.log" 2>&1 ||
        { cat "$4.log"; return 1; }
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "elapsed_s") c = i } NR > 1 { w = $c }
             END { printf "RESULT mode=workload impl=lengen wall_s=%s\n", w }' "$tmp/runs/$1/train.csv" > "$4"
}
# blas_env KIND: OPENBLAS_CORETYPE as the environment had it (env) or unset (own)
blas_env() {
    if [ "$1" = env ] && [ -n "$ENV_CORETYPE_SET" ]; then export OPENBLAS_CORETYPE="$ENV_CORETYPE"
    else unset OPENBLAS_CORETYPE; fi
}
echo "$WORKLOADS" | while read -r name cfg; do
    for blas in env own; do
        blas_env "$blas"
        # one thread each, started together; then two threads, each alone
        base="$tmp/w.$name.$blas"
        run_lengen "$name.$blas.1" "$cfg" 1 "$base.1.lengen" & lpid=$!
        "$PY" tools/bench_torch.py --workload "$cfg" $WSETS --threads 1 > "$base.1.torch" & tpid=$!
        wait "$lpid" || exit 1
        wait "$tpid" || { cat "$base.1.torch"; exit 1; }
        run_lengen "$name.$blas.2" "$cfg" 2 "$base.2.lengen" || exit 1
        "$PY" tools/bench_torch.py --workload "$cfg" $WSETS --threads 2 > "$base.2.torch" || { cat "$base.2.torch"; exit 1; }
        echo "  workload $name, OpenBLAS $blas: lengen $(field wall_s "$base.1.lengen") s / torch" \
             "$(field wall_s "$base.1.torch") s (1 thread each, together), $(field wall_s "$base.2.lengen") s /" \
             "$(field wall_s "$base.2.torch") s (2 threads alone)"
    done
done
unset OPENBLAS_CORETYPE
if [ -n "${BENCH_CORETYPE:-}" ]; then export OPENBLAS_CORETYPE="$BENCH_CORETYPE"; fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

echo "| config | params (lengen / torch) | lengen tok/s | torch tok/s | ratio | lengen GFLOP/s | % of sgemm | lengen ms/step | torch ms/step | RSS MB (lengen / torch) | heap allocs/step |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
echo "$CONFIGS" | while read -r name L H D T B S W; do
    lf="$tmp/$name.lengen"; tf="$tmp/$name.torch"
    lp=$(field params "$lf"); tp=$(field params "$tf")
    lt=$(field tok_s "$lf"); tt=$(field tok_s "$tf")
    lg=$(field gflops "$lf")
    lm=$(field ms "$lf"); tm=$(field ms "$tf")
    lr=$(field rss_mb "$lf"); tr=$(field rss_mb "$tf")
    la=$(field allocs "$lf")
    [ "$lp" = "$tp" ] || echo "WARNING: $name parameter counts differ: lengen $lp, torch $tp" >&2
    awk -v n="$name" -v L="$L" -v H="$H" -v D="$D" -v T="$T" -v B="$B" -v lp="$lp" -v tp="$tp" \
        -v lt="$lt" -v tt="$tt" -v lg="$lg" -v sg="$sgemm" -v lm="$lm" -v tm="$tm" -v lr="$lr" -v tr="$tr" -v la="$la" -v S="$S" \
        'BEGIN { printf "| %s (L%s H%s D%s T%s B%s) | %s / %s | %.0f | %.0f | **%.2fx** | %.1f | %.0f%% | %.1f | %.1f | %s / %s | %g |\n",
                 n, L, H, D, T, B, lp, tp, lt, tt, lt / tt, lg, 100 * lg / sg, lm, tm, lr, tr, la / S }'
done
echo
echo "decoding (tiny model, 256 sequences, prompt 8, to length 200): KV cache $(field kv_s "$tmp/decode") s," \
     "full recompute $(field full_s "$tmp/decode") s: **$(field speedup "$tmp/decode")x**;" \
     "same tokens: $(field same "$tmp/decode")"
echo
if [ -n "$ENV_CORETYPE_SET" ]; then envdesc="OPENBLAS_CORETYPE=$ENV_CORETYPE"; else envdesc="OPENBLAS_CORETYPE unset"; fi
echo "training workloads, $WSTEPS steps of \`lengen train CONFIG\` vs the recipe in PyTorch (bench_torch.py --workload), training wall time in s;"
echo "OpenBLAS 'env' = the environment as it is ($envdesc), 'own' = OpenBLAS's own kernel choice (unset):"
echo
echo "| workload | OpenBLAS | 1 thread each, together: lengen / torch | ratio | 2 threads alone: lengen / torch | ratio |"
echo "|---|---|---|---|---|---|"
echo "$WORKLOADS" | while read -r name cfg; do
    for blas in env own; do
        base="$tmp/w.$name.$blas"
        awk -v n="$name ($cfg)" -v b="$blas" -v l1="$(field wall_s "$base.1.lengen")" -v t1="$(field wall_s "$base.1.torch")" \
            -v l2="$(field wall_s "$base.2.lengen")" -v t2="$(field wall_s "$base.2.torch")" \
            'BEGIN { printf "| %s | %s | %.1f / %.1f | **%.2fx** | %.1f / %.1f | **%.2fx** |\n", n, b, l1, t1, t1 / l1, l2, t2, t2 / l2 }'
    done
done
echo
# How a sweep should use the cores: 2 one-thread workers against one 2-thread run at a time.
if [ "${BENCH_SWEEP:-1}" = 1 ]; then LENGEN="$LENGEN" sh tools/bench_sweep.sh; fi
