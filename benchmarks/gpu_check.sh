#!/usr/bin/env bash
# The simulator's CUDA checks and benchmark, in one run on a lent GPU.
#
# Takes about 6 minutes on an H200 and at most about 9.5 (each step is bounded by
# `timeout`, so a hang costs its step only); everything lands in $OUT (default
# ./gpu-check-out): env.txt, tests.txt, speed.txt + speed.json, memory.txt + memory.json.
#
# 1. Once, on the machine WITHOUT the GPU, in the repository root (pip works there):
#        benchmarks/gpu_check.sh wheels
#    puts the SpikingJelly 2.0 and loguru wheels (about 1.2 MB) into .whl/, which git
#    ignores (the command adds it to .git/info/exclude). Skip it and the SpikingJelly
#    rows say "not installed"; everything else still runs.
# 2. Then one call of the device tool, from the repository root:
#        command: bash benchmarks/gpu_check.sh      carry: [".whl"]      timeout_s: 600
#    No venv travels: it runs on the GPU image's own python3 (PyTorch, Triton, cuDNN
#    there) with this checkout on PYTHONPATH, and installs .whl/ into /tmp/site.
#
# Steps:
#   tests   pytest -k cuda on tests/snn (--noconftest: the suite's conftest imports the
#           CLI, whose plotext/textual the image lacks): every scan and CUDA graphs on and
#           off equal to the step-by-step oracle in float64, identical to the default
#           path in float32 and bf16, bf16 within its stated tolerance
#   speed   benchmarks/simulate.py --device cuda: VGG19 first (then ResNet18, VGG11),
#           batches 256 and 1024, T = 64; starts no new net/batch after $SPEED_LIMIT s
#   memory  peak GPU memory of one VGG19 simulation at T = 64 and 3000, batch 256
# The environment variables below shrink it, e.g. for a dry run on a CPU:
#   DEVICE=cpu BATCHES=2 TIMESTEPS=4 ROUNDS=1 NETS=vgg11 bash benchmarks/gpu_check.sh
set -u -o pipefail

cd "$(dirname "$0")/.."

if [ "${1:-}" = wheels ]; then
    exclude="$(git rev-parse --git-common-dir)/info/exclude"
    grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
        -d .whl spikingjelly==2.0.0 loguru==0.7.3
    exit
fi

OUT=${OUT:-$PWD/gpu-check-out}
DEVICE=${DEVICE:-cuda}
NETS=${NETS:-vgg19,resnet18,vgg11}
BATCHES=${BATCHES:-256,1024}
TIMESTEPS=${TIMESTEPS:-64}
ROUNDS=${ROUNDS:-3}
SPEED_LIMIT=${SPEED_LIMIT:-170}
MEMORY_BATCH=${MEMORY_BATCH:-256}
MEMORY_TIMESTEPS=${MEMORY_TIMESTEPS:-64,3000}
MEMORY_VARIANTS=${MEMORY_VARIANTS:-ours,ours-bf16,ours-bf16+compile,ours-bf16+triton,ours-bf16+triton+graph}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

step() { echo; echo "== $1 ($(date +%T), ${SECONDS}s in)"; }

step environment
{
    nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv 2>&1
    "$PYTHON" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__,
        "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
    git log -1 --format='%H %s' 2>/dev/null
} 2>&1 | tee "$OUT/env.txt"
if ls .whl/*.whl >/dev/null 2>&1; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

step "tests (pytest -k cuda)"
timeout 180 "$PYTHON" -m pytest --noconftest -p no:cacheprovider -q -k cuda tests/snn 2>&1 |
    tee "$OUT/tests.txt"
echo "tests exit status: $?" | tee -a "$OUT/tests.txt"

step "speed (benchmarks/simulate.py --device $DEVICE)"
timeout 250 "$PYTHON" benchmarks/simulate.py --device "$DEVICE" --nets "$NETS" \
    --batches "$BATCHES" --timesteps "$TIMESTEPS" --rounds "$ROUNDS" \
    --time-limit "$SPEED_LIMIT" --skip-memory --json "$OUT/speed.json" 2>&1 |
    tee "$OUT/speed.txt"
echo "speed exit status: $?" | tee -a "$OUT/speed.txt"

step "memory (T = $MEMORY_TIMESTEPS)"
timeout 120 "$PYTHON" benchmarks/simulate.py --device "$DEVICE" --nets none \
    --memory-net vgg19 --memory-batch "$MEMORY_BATCH" --memory-timesteps "$MEMORY_TIMESTEPS" \
    --memory-variants "$MEMORY_VARIANTS" --json "$OUT/memory.json" 2>&1 | tee "$OUT/memory.txt"
echo "memory exit status: $?" | tee -a "$OUT/memory.txt"

step "done"
