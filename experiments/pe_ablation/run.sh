#!/bin/sh
# Positional-encoding ablation (issue 12): trains every run of the sweeps in this folder
# (6 NoPE-paper tasks x 11 schemes x 3 seeds = 198 runs, then LEGO's 7 schemes x 1 seed; one
# thread each) into runs/pe_ablation/<sweep>/, then writes the tables to experiments/pe_ablation/tables.md and the
# per-length curves to experiments/pe_ablation/pe_ablation.png (table.py).
#   experiments/pe_ablation/run.sh                  # everything not finished yet
#   WORKERS=2 experiments/pe_ablation/run.sh        # two runs side by side (one per core)
#   SWEEPS="copy sum" experiments/pe_ablation/run.sh  # only these sweeps (file names without .sweep)
#   TABLE_ONLY=1 experiments/pe_ablation/run.sh     # only the tables and the plot of what finished
#   STATUS=1 experiments/pe_ablation/run.sh         # where each sweep stands, and the training left
#   RANKS=8 experiments/pe_ablation/run.sh          # over MPI: the runs shared among 8 ranks
#                                                   # (mpirun -np 8 ./lengen-mpi sweep; make MPI=1)
#   SLURM=1 experiments/pe_ablation/run.sh          # on Slurm: each sweep as one job array
#                                                   # (lengen sweep --slurm --wait; SBATCH="..." adds
#                                                   # sbatch options, e.g. SBATCH="--partition=cpu")
# Resumable: `lengen sweep` skips finished runs and resumes stopped ones from their ckpt.h5, so
# rerunning the same command after a stop finishes the study. Task by task, cheapest first, so
# that each finished task has all eleven schemes: its seven-scheme sweep, RoPE 25%, randomized
# positions; LEGO last (lego.sweep: one seed per scheme, to say which schemes can learn it at
# this budget; its pilots learned nothing).
set -eu
cd "$(dirname "$0")/../.."
make -s lengen
if [ -n "${RANKS:-}" ]; then make -s mpi-bin; fi
EXP=experiments/pe_ablation
# Finished runs are kept in git (results/: their config.ini, train.csv, eval.csv) and restored
# into runs/ on a machine that lacks them, so no finished run is trained twice (tools/run_archive.py).
archive() { /usr/bin/python3 tools/run_archive.py runs/pe_ablation $EXP/results | tail -n 1; }
archive
# Runs that finished before the archive existed: their numbers are in results/recovered_*.csv
FINISHED="--finished $EXP/results/recovered.txt"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
TASKS="parity copy cmc reverse sum rdc"   # rdc last: 12000 steps a run (pilot 6)
if [ -z "${SWEEPS:-}" ]; then
    SWEEPS=""
    for t in $TASKS; do SWEEPS="$SWEEPS $t ${t}_rope25 ${t}_random"; done
    SWEEPS="$SWEEPS lego"
fi
if [ -n "${STATUS:-}" ]; then
    # shellcheck disable=SC2086
    exec tools/sweep_status.sh --finished $EXP/results/recovered.txt $(for s in $SWEEPS; do echo $EXP/$s.sweep; done)
fi
if [ -z "${TABLE_ONLY:-}" ]; then
    status=0
    for s in $SWEEPS; do
        start=$(date +%s)
        if [ -n "${RANKS:-}" ]; then
            mpirun -np "$RANKS" ./lengen-mpi sweep $EXP/$s.sweep --workers 1 --threads 1 $FINISHED --quiet || status=$?
        elif [ -n "${SLURM:-}" ]; then
            # shellcheck disable=SC2086
            ./lengen sweep $EXP/$s.sweep --slurm --wait ${SBATCH:+--sbatch "$SBATCH"} $FINISHED --quiet || status=$?
        else
            ./lengen sweep $EXP/$s.sweep --workers "${WORKERS:-1}" --threads 1 $FINISHED --quiet || status=$?
        fi
        archive
        echo "sweep $s: $(($(date +%s) - start)) s wall (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
    done
    [ $status -eq 0 ] || echo "some runs failed (exit $status): see runs/pe_ablation/*/*.log" >&2
fi
/usr/bin/python3 $EXP/table.py --dir $EXP --plot $EXP/pe_ablation.png > $EXP/tables.md
cat $EXP/tables.md
