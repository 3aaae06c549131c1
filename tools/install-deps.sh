#!/bin/sh
# Installs every Debian package lengen needs. Idempotent: when all is present it only checks.
#   tools/install-deps.sh           build + test packages (compiler, OpenBLAS, HDF5, zlib, libinih,
#                                   OpenMPI: make test runs lengen-mpi under mpirun)
#   tools/install-deps.sh --python  also the Python side used by tools/ (PyTorch, h5py, matplotlib)
#   tools/install-deps.sh --slurm   also Slurm and munge (make test-slurm starts a one-node Slurm)
# Must run as root (apt-get). Prints what it installs.
set -eu

CORE="gcc make pkg-config libc6-dev libopenblas-openmp-dev libhdf5-dev hdf5-tools zlib1g-dev libinih-dev"
MPI="openmpi-bin libopenmpi-dev"
SLURM="slurmctld slurmd slurm-client munge"
PY="python3 python3-numpy python3-torch python3-h5py python3-matplotlib"

want="$CORE $MPI"
for arg in "$@"; do
    case "$arg" in
        --python) want="$want $PY" ;;
        --slurm) want="$want $SLURM" ;;
        *) echo "install-deps.sh: unknown option '$arg' (valid: --python, --slurm)" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps.sh: all packages present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: missing packages:$missing" >&2
    echo "install-deps.sh: run as root: sudo tools/install-deps.sh $*" >&2
    exit 1
fi

# One apt at a time: two builds started together on a fresh machine (say, two experiment chains)
# would otherwise race for apt's lock and one would fail. The second waits, then finds little to do.
exec 9>/var/lock/lengen-install-deps.lock
flock 9
echo "install-deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
