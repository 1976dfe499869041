#!/usr/bin/env bash
# The main job on a fresh machine: set up .venv, prepare MNIST, train DCGAN on MNIST on the CPU for
# a few minutes, then write a sample grid, a checkpoint, an evaluation report and one HTML page of the
# run (lightgen report; screenshot checked in headless Chromium when it is installed), saying where.
# Environment: DEMO_EPOCHS (default 2), DEMO_RUN_ROOT (default runs), LIGHTGEN_DATA (default data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export WANDB_MODE=${WANDB_MODE:-offline}
root=${LIGHTGEN_DATA:-data}
runs=${DEMO_RUN_ROOT:-runs}
mkdir -p outputs

echo "== 1/4 preparing MNIST under $root"
.venv/bin/lightgen data prepare mnist --root "$root"

echo "== 2/4 training DCGAN (configs/dcgan.yaml) for ${DEMO_EPOCHS:-2} epochs on the CPU"
.venv/bin/lightgen fit --config configs/dcgan.yaml \
  --trainer.max_epochs "${DEMO_EPOCHS:-2}" \
  --data.init_args.root "$root" \
  --run_root "$runs" --run_name demo
run_dir=$(ls -d "$runs"/demo/version_* | sort -V | tail -1)
ckpt="$run_dir/checkpoints/last.ckpt"

echo "== 3/4 the MNIST digit classifier behind the metric (trained once, ~3 CPU-minutes; cached in $root/classifiers)"
.venv/bin/lightgen data prepare mnist-classifier --root "$root"

echo "== 4/4 sampling and evaluating $ckpt"
.venv/bin/lightgen sample --ckpt "$ckpt" --num 64 --nrow 8 --seed 0 --out outputs/dcgan_mnist_grid.png
.venv/bin/lightgen evaluate --ckpt "$ckpt" --metrics cfid,modes,nn --num-samples 2000 --nn-num 500 \
  --data-root "$root" --nn-png outputs/dcgan_mnist_neighbours.png --out outputs/dcgan_mnist_report.json
echo
echo "checkpoint:   $ckpt"
echo "sample grid:  outputs/dcgan_mnist_grid.png  (grids during training: $run_dir/samples/)"
echo "metrics:      outputs/dcgan_mnist_report.json  (classifier FID, class coverage, memorisation; table above)"
echo "neighbours:   outputs/dcgan_mnist_neighbours.png  (each sample, then its 5 nearest training images)"
echo "run folder:   $run_dir  (config.yaml, wandb/ offline run: sync with 'wandb sync')"
echo
# one page with all of the above: config, curves, samples over training, metrics with their protocol cards
.venv/bin/lightgen report "$run_dir" --eval outputs/dcgan_mnist_report.json --out outputs/dcgan_mnist_report.html
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  tools/check_report.sh outputs/dcgan_mnist_report.html outputs/dcgan_mnist_report.png \
    || echo "(headless Chromium could not screenshot the page; it is written all the same)"
fi
echo "report page:  outputs/dcgan_mnist_report.html  (open it in a browser; self-contained, works offline)"
