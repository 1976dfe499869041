#!/usr/bin/env bash
# All of lightgen's GPU speed measurements in one prepared run (under 8 minutes on one GPU), written as a
# markdown table to $OUT/gpu_bench.md (or --out PATH) and printed:
#
#   - DCGAN training throughput (tools/bench/dcgan_throughput.py) at 32 and 64 px, lightgen at fp32 /
#     bf16-mixed / 16-mixed, eager and compiled + channels-last, each as a ratio over the plain eager
#     fp32 loop run side by side (mean ± standard error over alternating repeats);
#   - FID path speed (tools/bench/fid_speed.py --device): lightgen over torch-fidelity, same device.
#
# Every measurement gets a row: a number, "skipped: <reason>" (e.g. 16-mixed needs CUDA) or "failed: <reason>".
# Each step runs under a share of a 450 s budget (--budget), so the whole run stays under 8 minutes.
#
#   bash tools/bench/gpu.sh [--device cuda|cpu] [--quick] [--out PATH] [--budget SECONDS]
#
# --device cpu --quick is a dry run: every step, tiny, on the CPU (compiled side traced with the aot_eager
# backend instead of inductor, whose first compilation takes minutes on a small CPU; budget 900 s by default).
set -u -o pipefail

DEVICE=cuda
QUICK=0
BUDGET=
OUT_PATH="${OUT:-.}/gpu_bench.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --out) OUT_PATH="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

case "$OUT_PATH" in /*) ;; *) OUT_PATH="$PWD/$OUT_PATH" ;; esac
cd "$(dirname "$0")/../.." || exit 1
PY=python
[ -x .venv/bin/python ] && PY=.venv/bin/python
if [ -z "$BUDGET" ]; then
  BUDGET=450
  [ "$DEVICE" = cpu ] && BUDGET=900
fi
STEP_LIMIT=$((BUDGET * 2 / 5))  # each DCGAN size; FID gets the rest
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROWS="$WORK/rows.md"
: > "$ROWS"
LOG_DIR="$(dirname "$OUT_PATH")"
mkdir -p "$LOG_DIR"
LOG="$OUT_PATH.log"
: > "$LOG"

SIZES="32 64"
PRECISIONS="32 bf16-mixed 16-mixed"
if [ "$QUICK" = 1 ]; then
  DCGAN_ARGS=(--quick)
  FID_ARGS=(--num 2 --batch-size 2 --repeats 1 --threads 2)  # each FID is a 2048-d sqrtm: seconds on a CPU
else
  DCGAN_ARGS=(--batch 64 --width 64 --steps 50 --warmup 10 --compile-warmup 5 --repeats 5)
  FID_ARGS=(--num 1000 --batch-size 100 --repeats 3 --threads 4)
fi
[ "$QUICK" = 1 ] && [ "$DEVICE" = cpu ] && DCGAN_ARGS+=(--compile-backend aot_eager)

# run LIMIT CMD...: the command under `timeout`, at most LIMIT s and at most what is left of the budget
run() {
  local limit=$1
  shift
  : > "$WORK/step.out"
  local left=$((BUDGET - SECONDS))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -le 5 ]; then
    echo "budget spent" >> "$LOG"
    return 124
  fi
  echo "+ $* (limit ${limit} s)" | tee -a "$LOG"
  timeout "$limit" "$@" > "$WORK/step.out" 2>> "$LOG"
  local rc=$?
  cat "$WORK/step.out" >> "$LOG"
  return $rc
}

# one process per size on the GPU (each under its own time limit); one process for both in the dry run
SIZE_GROUPS=("32" "64")
[ "$QUICK" = 1 ] && SIZE_GROUPS=("$SIZES") && STEP_LIMIT=$((BUDGET * 4 / 5))
declare -A RC
for group in "${SIZE_GROUPS[@]}"; do
  run "$STEP_LIMIT" "$PY" tools/bench/dcgan_throughput.py --device "$DEVICE" --size $group --precision $PRECISIONS \
    "${DCGAN_ARGS[@]}" --markdown "$ROWS"
  rc=$?
  for size in $group; do RC[$size]=$rc; done
  grep -E '^(==|ratio|skipped)' "$WORK/step.out"
done
for size in $SIZES; do
  for precision in $PRECISIONS; do  # a row for every measurement, even one the step never reached
    for side in "lightgen eager / plain fp32 eager" "compiled lightgen / plain fp32 eager"; do
      name="DCGAN $size px, $precision, $side"
      if ! grep -qF "| $name |" "$ROWS"; then
        why="error (rc ${RC[$size]})"
        [ "${RC[$size]}" = 124 ] && why="timed out (budget)"
        echo "| $name | failed: $why, see $(basename "$LOG") | |" >> "$ROWS"
      fi
    done
  done
done

name="FID lightgen / torch-fidelity images/s, $DEVICE"
if [ "$DEVICE" = cuda ] && ! "$PY" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  echo "| $name | skipped: no CUDA device | |" >> "$ROWS"
else
  run "$BUDGET" "$PY" tools/bench/fid_speed.py --device "$DEVICE" "${FID_ARGS[@]}"
  rc=$?
  if [ "$rc" = 0 ]; then
    # per-repeat wall-clock ratio (lines "repeat r: lightgen X images/s ..." then "repeat r: torch-fidelity Y ...")
    ratio=$(awk '/^repeat [0-9]+: lightgen/ {a[$2] = $4} /^repeat [0-9]+: torch-fidelity/ {b[$2] = $4}
      END {n = 0; s = 0; ss = 0; for (k in a) if (k in b) {r = a[k] / b[k]; n++; s += r; ss += r * r}
           if (n == 0) {printf "failed: no per-repeat rates in its output"; exit}
           m = s / n; v = n > 1 ? (ss - n * m * m) / (n - 1) : 0; if (v < 0) v = 0
           if (n > 1) printf "%.3f ± %.3f", m, sqrt(v / n); else printf "%.3f ± nan", m}' "$WORK/step.out")
    detail=$(grep -E '^median images/s' "$WORK/step.out" | sed 's/^median //')
    echo "| $name | $ratio | ${FID_ARGS[*]}; $detail |" >> "$ROWS"
  elif grep -q "Inception weights not found" "$LOG"; then
    echo "| $name | skipped: no Inception weights (lightgen data prepare inception) | |" >> "$ROWS"
  else
    why="error (rc $rc)"
    [ "$rc" = 124 ] && why="timed out (budget)"
    echo "| $name | failed: $why, see $(basename "$LOG") | |" >> "$ROWS"
  fi
fi

{
  echo "# lightgen speed on $DEVICE (tools/bench/gpu.sh$([ "$QUICK" = 1 ] && echo " --quick"))"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $SECONDS s;" \
    "$("$PY" -c 'import torch; print("torch", torch.__version__, "|", torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")')"
  echo
  echo "Ratios are over a plain PyTorch reference run side by side in the same process (mean ± s.e. over repeats)."
  echo
  echo "| measurement | ratio | detail |"
  echo "|---|---|---|"
  cat "$ROWS"
} > "$OUT_PATH"
cat "$OUT_PATH"
