#!/usr/bin/env bash
# Set up .venv and run the whole test suite on the CPU. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export WANDB_MODE=offline WANDB_SILENT=true CUDA_VISIBLE_DEVICES=""
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
