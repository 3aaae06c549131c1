#!/bin/sh
# A real single-node Slurm runs a 4-run sweep as one job array (make test-slurm; needs root and
# the Debian packages slurmctld, slurmd, slurm-client and munge: tools/install-deps.sh --slurm).
#
# The script starts munged, slurmctld and slurmd with a slurm.conf it writes into a temporary
# folder (its own munge key and socket, its own ports, state and logs there, SLURM_CONF
# pointing at it), so it touches no system configuration; it stops all three and removes the
# folder when it ends, passed or not. Then:
#   1. `lengen sweep FILE --slurm --wait` submits the 4 runs as one array and waits;
#      results.csv must hold each run's exact match from its eval.csv at the last step;
#   2. one run is made unfinished (retrained to a checkpoint at step 10 of 30): a second
#      --slurm submits that run alone (--array=<its index>), which resumes it, and the table
#      is whole again;
#   3. a third --slurm has nothing to submit.
# Usage: sh tests/slurm_test.sh [LENGEN_BINARY]   (default ./lengen)
set -eu

BIN=$(realpath "${1:-./lengen}")
[ "$(id -u)" = 0 ] || { echo "slurm_test: needs root (it starts munged, slurmctld and slurmd)" >&2; exit 2; }
for p in munged slurmctld slurmd sbatch squeue sinfo; do
    command -v $p >/dev/null 2>&1 || { echo "slurm_test: $p missing; run: sh tools/install-deps.sh --slurm" >&2; exit 2; }
done

T=$(mktemp -d /tmp/lengen_slurm_XXXXXX)
chmod 755 "$T"
stop() {
    for f in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
        if [ -s "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
    done
    sleep 1
    if [ "${KEEP:-0}" = 1 ]; then echo "slurm_test: kept $T"; else rm -rf "$T"; fi
}
trap stop EXIT
fail() {
    echo "slurm_test: FAIL: $*" >&2
    for l in "$T"/log/*.log; do echo "--- $l (last lines)" >&2; tail -n 15 "$l" >&2 || true; done
    exit 1
}

# ---- munge, with its own key and socket ----
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/log" "$T/work"
chmod 755 "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=128 count=1 2>/dev/null
chmod 600 "$T/munge/munge.key"
munged -f --socket="$T/munge/munge.sock" --key-file="$T/munge/munge.key" --log-file="$T/log/munged.log" \
    --pid-file="$T/munge/munged.pid" --seed-file="$T/munge/seed" || fail "munged did not start"

# ---- slurm.conf: one node (this machine), one partition, root runs everything ----
H=$(hostname -s)
CPUS=$(nproc)
PORT=$((20000 + $$ % 9000 * 2))
cat > "$T/slurm.conf" <<EOF
ClusterName=lengentest
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$H CPUs=$CPUS RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$T/slurm.conf"
slurmctld || fail "slurmctld did not start"
slurmd || fail "slurmd did not start"
i=0
until sinfo --noheader --format=%t 2>/dev/null | grep -q idle; do
    i=$((i + 1))
    [ $i -le 30 ] || fail "the node did not come up idle in 30 s: $(sinfo 2>&1)"
    sleep 1
done
echo "slurm_test: Slurm up ($H, $CPUS CPUs, ports $PORT-$((PORT + 1)))"

# ---- a 4-run sweep of tiny copy models ----
cd "$T/work"
cat > base.ini <<EOF
[model]
layers = 1
heads = 2
d_model = 16
max_pos = 64
posenc = learned
[task]
main = copy
alphabet = 6
[train]
steps = 30
batch_size = 16
warmup = 5
lr = 3e-3
min_length = 1
max_length = 4
log_every = 10
eval_every = 15
ckpt_every = 10
[eval]
lengths = 2,4,6
n = 20
EOF
cat > sweep.ini <<EOF
[sweep]
base = base.ini
name = s
out_dir = runs
threads = 1
[grid]
model.posenc = learned, nope
run.seed = 1, 2
EOF

# Every results.csv row holds its run's eval.csv exact match at the last step.
check_table() {
    [ "$(head -n 1 runs/s/results.csv)" = "run,model.posenc,run.seed,step,2,4,6" ] || fail "header: $(head -n 1 runs/s/results.csv)"
    rows=0
    tail -n +2 runs/s/results.csv > "$T/rows"
    while IFS=, read -r run pe seed step e2 e4 e6; do
        [ "$step" = 30 ] || fail "$run at step '$step' in results.csv"
        for pair in "2 $e2" "4 $e4" "6 $e6"; do
            set -- $pair
            want=$(awk -F, -v L="$1" '$1 == 30 && $3 == L { v = $5 } END { print v }' "runs/s/$run/eval.csv")
            [ -n "$want" ] || fail "$run: no eval.csv row at step 30 length $1"
            awk -v a="$2" -v b="$want" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' ||
                fail "$run length $1: results.csv $2, eval.csv $want"
        done
        rows=$((rows + 1))
    done < "$T/rows"
    [ $rows = 4 ] || fail "results.csv has $rows rows, want 4"
}

"$BIN" sweep sweep.ini --slurm --wait > "$T/log/sweep1.log" 2>&1 || { cat "$T/log/sweep1.log"; fail "first --slurm --wait exited $?"; }
grep -q "4 of 4 runs unfinished" "$T/log/sweep1.log" || { cat "$T/log/sweep1.log"; fail "first submission not of 4 runs"; }
grep -q -- "--array=0-3" "$T/log/sweep1.log" || { cat "$T/log/sweep1.log"; fail "first submission not --array=0-3"; }
ls runs/s/slurm/*_3.out > /dev/null 2>&1 || fail "no output of array task 3 in runs/s/slurm"
check_table
echo "slurm_test: 4-run array finished; results.csv matches every run's eval.csv"

# one run unfinished again (as an array task killed at its time limit leaves it: stopped at
# step 10 with a checkpoint): only it is resubmitted, resumed, and the others are not touched
rc=0
"$BIN" train base.ini --set model.posenc=nope --set run.seed=1 --set run.out_dir=runs/s --set run.name=posenc-nope_seed-1 \
    --set run.threads=1 --force --stop-at 10 --quiet > "$T/log/stop.log" 2>&1 || rc=$?
[ $rc = 130 ] || { cat "$T/log/stop.log"; fail "--stop-at 10 exited $rc"; }
before=$(stat -c %Y runs/s/posenc-learned_seed-1/train.csv)
"$BIN" sweep sweep.ini --slurm --wait > "$T/log/sweep2.log" 2>&1 || { cat "$T/log/sweep2.log"; fail "second --slurm --wait exited $?"; }
grep -q "1 of 4 runs unfinished" "$T/log/sweep2.log" && grep -q -- "--array=2 " "$T/log/sweep2.log" ||
    { cat "$T/log/sweep2.log"; fail "resubmission was not of run 2 alone"; }
[ "$(stat -c %Y runs/s/posenc-learned_seed-1/train.csv)" = "$before" ] || fail "a finished run was trained again"
check_table
grep -q "resumed" runs/s/slurm/*_2.out || fail "array task 2 did not resume the run: $(cat runs/s/slurm/*_2.out)"
echo "slurm_test: resubmission resumed the one unfinished run (array index 2)"

"$BIN" sweep sweep.ini --slurm > "$T/log/sweep3.log" 2>&1 || { cat "$T/log/sweep3.log"; fail "third --slurm exited $?"; }
grep -q "nothing to submit" "$T/log/sweep3.log" || { cat "$T/log/sweep3.log"; fail "a finished sweep was submitted again"; }
echo "slurm_test: passed"
