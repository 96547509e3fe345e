#!/usr/bin/env bash
# One GPU lease, prepared: installs the carried wheels and the project, runs the CUDA tests, measures
# CSRCNN's Table VI, SRSEG's frames/s, the inference roofline and Lightning's overhead, trains SRCNN,
# FSRCNN and EMTCM x3 on T91 for a fixed time each, scores and exports them (sha256 and command), and
# trains CSRCNN x2 for the minutes left, with its curve. Under 10 minutes on one modern GPU.
#
# Usage: bash benchmarks/gpu/run.sh [--dry-run] [--only STEP,STEP...] [OUT_DIR]
#   OUT_DIR: $OUT where set (the device tool), else the argument, else a new temporary folder. It gets
#   summary.md, summary.json and results.tar.gz (every log and output; checkpoints left out). The files
#   themselves stay under OUT_DIR/run/, except when OUT_DIR is $OUT: the device tool brings back at most
#   8 files, so there only the three remain.
#   --dry-run: every step at toy size on this CPU (demo-photo stand-ins for T91/Set5/Set14, seconds each),
#   the same commands; tests/benchmarks/test_gpu_script.py runs it. --only: a second try of some steps (install and
#   data always run). Before a lease: bash benchmarks/gpu/prepare.sh (wheels and data to carry).
# Each step has a time budget and a log (run/logs/STEP.log); a failing step does not stop the others; the
# whole run ends by SR_ZOO_GPU_TOTAL_S seconds (default 540), packing included.
set -uo pipefail

if [ "${1:-}" = "--step" ]; then  # internal: run one step (in its own process, under `timeout`)
    STEP_NAME=$2
else
    STEP_NAME=
fi

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SELF="$REPO/benchmarks/gpu/run.sh"

# ------------------------------------------------------------------ the steps
step_install() {
    if [ "$MODE" = gpu ]; then
        local wheels="${SR_ZOO_GPU_WHEELS:-$REPO/benchmarks/gpu/wheels}"
        ls "$wheels"/*.whl >/dev/null || { echo "no wheels in $wheels: run benchmarks/gpu/prepare.sh first"; return 1; }
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
            "$wheels"/*.whl || return 1
        (cd "$REPO" && "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e .) \
            || echo "editable install failed: the project runs from $REPO/src (PYTHONPATH) and a shim sr-zoo"
    else
        echo "dry run: nothing installed (this machine has the project and its packages)"
    fi
    command -v sr-zoo >/dev/null || printf '#!/bin/sh\nexec %s -m sr_zoo "$@"\n' "$PY" >"$TMPW/bin/sr-zoo"
    command -v python >/dev/null || ln -sf "$(command -v "$PY")" "$TMPW/bin/python"
    chmod +x "$TMPW/bin/"* 2>/dev/null
    "$PY" - "$RUN/env.json" <<'EOF' || return 1
# The environment, for the summary; on the GPU also the imports every later step needs (a dry run skips
# them: this machine has the packages, and each import costs seconds here).
import importlib.metadata as md, json, os, platform, subprocess, sys
names = ["torch", "lightning", "torchmetrics", "kornia", "albumentations", "jsonargparse", "numpy", "scikit-image",
         "opencv-python-headless", "sr-zoo"]
versions = {}
for n in names:
    try:
        versions[n] = md.version(n)
    except md.PackageNotFoundError:
        versions[n] = None
missing = [n for n in ("torch", "kornia", "albumentations", "jsonargparse", "lightning") if versions[n] is None]
cuda = gpu = cuda_version = None
if os.environ["MODE"] == "gpu" and not missing:
    import albumentations, kornia, sr_zoo.cli.lightning, torch  # noqa: E401,F401
    cuda = torch.cuda.is_available()
    gpu, cuda_version = (torch.cuda.get_device_name(0), torch.version.cuda) if cuda else (None, None)
try:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
except OSError:
    commit = None
prepared = os.path.join(os.environ["REPO"], "benchmarks", "gpu", "wheels", "PREPARED")
if commit is None and os.path.isfile(prepared):  # the checkout's commit, as prepare.sh saw it
    commit = open(prepared).readline().strip() or None
machine = (f"{gpu} (CUDA {cuda_version}), " if gpu else "") + \
    f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {versions['torch']}"
env = {"python": sys.version.split()[0], "cuda": cuda, "gpu": gpu, "cuda_version": cuda_version,
       "cpus": os.cpu_count(), "machine": machine, "versions": versions, "commit": commit}
open(sys.argv[1], "w").write(json.dumps(env, indent=1) + "\n")
print(json.dumps(env, indent=1))
if missing:
    sys.exit(f"not installed: {', '.join(missing)}")
if os.environ["MODE"] == "gpu" and not cuda:
    sys.exit("torch sees no CUDA device")
EOF
    command -v sr-zoo || return 1
    if [ "$MODE" = gpu ]; then
        sr-zoo models >/dev/null || return 1
        nvidia-smi || true
    fi
}

step_data() {
    if [ "$MODE" = dry ]; then
        "$PY" "$REPO/benchmarks/gpu/toy_data.py" "$DATA" || return 1
    else
        local archive="${SR_ZOO_GPU_DATA_ARCHIVE:-$REPO/benchmarks/gpu/data/shared-data.tar.gz}" found=
        if [ -f "$archive" ]; then
            tar -xzf "$archive" -C "$DATA" || return 1
        else
            for found in "$REPO/shared/data" "$REPO/../shared/data"; do
                [ -d "$found/T91" ] && break
            done
            [ -d "$found/T91" ] || { echo "no data: $archive is missing (run benchmarks/gpu/prepare.sh)"; return 1; }
            cp -r "$found"/T91 "$found"/Set5 "$found"/Set14 "$found"/*.sha256 "$DATA"/ || return 1
        fi
        (cd "$DATA" && sha256sum --quiet -c T91.sha256 Set5.sha256 Set14.sha256) || return 1
    fi
    for set in T91 Set5 Set14; do
        echo "$set: $(find "$DATA/$set" -type f | wc -l) images"
    done
}

step_cuda_tests() {
    # Every test that skips without CUDA (found as `grep -rn cuda tests | grep skip` finds them), and
    # tests/inference/test_cuda_paths.py, the GPU variants of the precision, tiling and batch-norm checks.
    cd "$REPO" || return 1
    local ids
    mapfile -t ids < <(grep -rn -A1 --include='test_*.py' 'skipif(not torch.cuda.is_available()' tests \
        | sed -nE 's/^(tests\/[^:]+\.py)-[0-9]+-def (test_[A-Za-z0-9_]+).*/\1::\2/p')
    echo "tests that skip without CUDA: ${ids[*]}"
    SR_ZOO_DATA="$TMPW/test_data" SR_ZOO_SHARED="$(dirname "$DATA")" "$PY" -m pytest -q -p no:cacheprovider -rA \
        --junitxml "$RUN/cuda_tests.xml" "${ids[@]}" tests/inference/test_cuda_paths.py
}

step_table6() {
    cd "$REPO" && "$PY" benchmarks/csrcnn_speed_memory.py --device "$DEVICE" $SMOKE --json "$RUN/table6.json"
}

step_srseg() {
    local args=(--device "$DEVICE" --json "$RUN/srseg.json")
    [ "$MODE" = dry ] && args+=(--smoke) || args+=(--frames 20 --steps 5)
    cd "$REPO" && "$PY" benchmarks/srseg_speed.py "${args[@]}"
}

step_roofline() {
    cd "$REPO" && "$PY" benchmarks/inference_roofline.py --device "$DEVICE" $SMOKE --json "$RUN/roofline.json"
}

step_lightning_overhead() {
    cd "$REPO" && "$PY" benchmarks/lightning_overhead.py --device "$DEVICE" $SMOKE --json "$RUN/lightning_overhead.json"
}

_train() {  # NAME (x3): benchmarks/train_pretrained.sh's run of NAME, with this machine's budget and device
    local name=$1 seconds budget
    budget=$(( STEP_BUDGET - TRAIN_OVERHEAD_S ))
    seconds=$(( TRAIN_S < budget ? TRAIN_S : budget ))
    (( seconds >= 5 )) || { echo "no time left to train"; return 1; }
    local time_arg
    time_arg=$(printf '00:00:%02d:%02d' $(( seconds / 60 )) $(( seconds % 60 )))
    echo "SR_ZOO_PRETRAINED_ONLY=${name}_x3 SR_ZOO_PRETRAINED_TIME=$time_arg bash benchmarks/train_pretrained.sh" \
        "RUNS ${FIT_ARGS[*]}" >"$RUN/notes/$STEP_NAME.cmd"
    cd "$REPO" && SR_ZOO_PRETRAINED_ONLY="${name}_x3" SR_ZOO_PRETRAINED_TIME="$time_arg" SR_ZOO_PRETRAINED_EXPORT=0 \
        bash benchmarks/train_pretrained.sh "$RUN/pretrained" "${FIT_ARGS[@]}"
}

step_train_emtcm_x3() { _train emtcm; }
step_train_srcnn_x3() { _train srcnn; }
step_train_fsrcnn_x3() { _train fsrcnn; }

step_export() {
    local machine command
    machine=$("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['machine'])" "$RUN/env.json") || return 1
    command="bash benchmarks/gpu/run.sh (steps train_*, export): $(cat "$RUN"/notes/train_*.cmd 2>/dev/null \
        | paste -sd '|' - | sed 's/|/; /g'); python benchmarks/export_pretrained.py RUNS"
    cd "$REPO" && "$PY" benchmarks/export_pretrained.py "$RUN/pretrained" --out "$RUN/weights" \
        --command "$command" --machine "$machine"
}

step_score() {  # sr-zoo benchmark on Set5/Set14 x3, beside the papers' values (dry run: the first model only)
    mkdir -p "$RUN/scores"
    local ckpt status=0 n=0
    for ckpt in "$RUN"/pretrained/*_x3/checkpoints/last.ckpt; do
        [ -f "$ckpt" ] || continue
        local run name
        run=$(basename "$(dirname "$(dirname "$ckpt")")")
        name=${run%_x3}
        sr-zoo benchmark --model "$name" --ckpt "$ckpt" --scale 3 --data set5 set14 --device "$DEVICE" \
            --format markdown >"$RUN/scores/$run.md" || status=1
        cat "$RUN/scores/$run.md"
        n=$((n + 1))
        [ "$MODE" = dry ] && break
    done
    (( n > 0 )) || { echo "no trained model to score"; return 1; }
    return $status
}

step_csrcnn_x2() {  # experiments/csrcnn_x2.yaml on T91 (DIV2K is not carried) for the time left, CSV curve
    local seconds=$(( STEP_BUDGET - TRAIN_OVERHEAD_S ))
    (( seconds >= 5 )) || { echo "no time left to train"; return 1; }
    local time_arg
    time_arg=$(printf '00:00:%02d:%02d' $(( seconds / 60 )) $(( seconds % 60 )))
    cd "$REPO" && sr-zoo fit --config experiments/csrcnn_x2.yaml --data.train "[t91]" \
        --model.init_args.optimizer adam --model.init_args.lr 5e-4 \
        --trainer.logger lightning.pytorch.loggers.CSVLogger --trainer.logger.save_dir "$RUN/csrcnn_x2" \
        --trainer.logger.name csrcnn_x2 --trainer.logger.version run --trainer.max_time "$time_arg" \
        --trainer.max_epochs -1 --trainer.check_val_every_n_epoch 1 --trainer.enable_progress_bar false \
        "${CSRCNN_ARGS[@]}"
}

# ------------------------------------------------------------------ one step, in its own process
if [ -n "$STEP_NAME" ]; then
    read -r -a FIT_ARGS <<<"$FIT_ARGS_STR"
    read -r -a CSRCNN_ARGS <<<"$CSRCNN_ARGS_STR"
    "step_$STEP_NAME"
    exit $?
fi

# ------------------------------------------------------------------ the run
MODE=gpu ONLY= OUT_ARG=
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) MODE=dry ;;
        --only) ONLY=$2; shift ;;
        --only=*) ONLY=${1#--only=} ;;
        -h|--help) sed -n '2,16p' "$SELF"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) OUT_ARG=$1 ;;
    esac
    shift
done
OUT_DIR="${OUT:-${OUT_ARG:-$(mktemp -d -t sr_zoo_gpu_XXXXXX)}}"
mkdir -p "$OUT_DIR" && OUT_DIR="$(cd "$OUT_DIR" && pwd)"
RUN="$OUT_DIR/run"
TMPW="$(mktemp -d -t sr_zoo_gpu_work_XXXXXX)"
DATA="$TMPW/shared/data"
SITE="$TMPW/site"
mkdir -p "$RUN/logs" "$RUN/notes" "$DATA" "$SITE" "$TMPW/bin" "$TMPW/torch_home" "$TMPW/test_data"
rm -f "$RUN/steps.tsv"
START=$(date +%s)
PY="${PYTHON:-python3}"

# No step may reach the network (the GPU machine has none; the dry run is a test).
export WANDB_MODE=disabled SR_ZOO_OFFLINE=1 HF_HUB_OFFLINE=1 NO_ALBUMENTATIONS_UPDATE=1 PYTHONUNBUFFERED=1
export TORCH_HOME="$TMPW/torch_home" SR_ZOO_DATA="$DATA" PATH="$TMPW/bin:$PATH"
export MODE RUN TMPW DATA SITE PY REPO
if [ "$MODE" = gpu ]; then
    export PYTHONPATH="$SITE:$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
    DEVICE=cuda SMOKE=
    TOTAL_S=${SR_ZOO_GPU_TOTAL_S:-540}
    TRAIN_S=${SR_ZOO_GPU_TRAIN_S:-40} TRAIN_OVERHEAD_S=30
    # SRDataModule decodes and cuts patches in CPU workers (it cannot hold the data on the GPU); the
    # machine has 16 cores. max_epochs 199: EMTCM's CPU config adds General-100 (not carried) at epoch 200.
    FIT_ARGS_STR="--trainer.accelerator gpu --trainer.devices 1 --data.num_workers 10 --trainer.max_epochs 199"
    CSRCNN_ARGS_STR="--trainer.accelerator gpu --trainer.devices 1 --data.num_workers 10 \
--trainer.val_check_interval 250 --trainer.log_every_n_steps 25"
    declare -A BUDGET=([install]=90 [data]=60 [cuda_tests]=150 [table6]=120 [srseg]=90 [roofline]=75
                       [lightning_overhead]=75 [train_emtcm_x3]=80 [train_srcnn_x3]=80 [train_fsrcnn_x3]=80
                       [export]=60 [score]=60 [csrcnn_x2]=600)
else
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # 2 threads on a shared 2-core CPU run many times slower
    DEVICE=cpu SMOKE=--smoke
    TOTAL_S=${SR_ZOO_GPU_TOTAL_S:-420}
    TRAIN_S=20 TRAIN_OVERHEAD_S=10
    FIT_ARGS_STR="--trainer.accelerator cpu --trainer.max_steps 3 --data.num_workers 0 --data.samples_per_epoch 32"
    CSRCNN_ARGS_STR="--trainer.accelerator cpu --trainer.max_steps 2 --data.num_workers 0 --data.batch_size 4 \
--data.patch_size 32 --data.samples_per_epoch 8 --trainer.val_check_interval 1 --trainer.log_every_n_steps 1"
    declare -A BUDGET=([install]=60 [data]=30 [cuda_tests]=120 [table6]=90 [srseg]=120 [roofline]=90
                       [lightning_overhead]=90 [train_emtcm_x3]=60 [train_srcnn_x3]=60 [train_fsrcnn_x3]=60
                       [export]=60 [score]=60 [csrcnn_x2]=60)
fi
export DEVICE SMOKE TRAIN_S TRAIN_OVERHEAD_S FIT_ARGS_STR CSRCNN_ARGS_STR
DEADLINE=$(( START + TOTAL_S - 20 ))  # 20 s kept for the summary and the archive
# What the issue's acceptance needs first (the CUDA tests, Table VI, SRSEG, the weights and their scores),
# then the benchmarks other engineers own, then CSRCNN for the time left.
STEPS=(install data cuda_tests table6 srseg train_emtcm_x3 train_srcnn_x3 train_fsrcnn_x3 export score
       roofline lightning_overhead csrcnn_x2)
echo "sr_zoo gpu run: mode $MODE, output $OUT_DIR, ${TOTAL_S}s in all"

run_step() {  # NAME: under its budget (and the time left), its output in logs/NAME.log, a row in steps.tsv
    local name=$1 budget=${BUDGET[$1]} left rc status t0 t1 ms
    if [ -n "$ONLY" ] && [ "$name" != install ] && [ "$name" != data ] && [[ ",$ONLY," != *",$name,"* ]]; then
        return 0
    fi
    left=$(( DEADLINE - $(date +%s) ))
    # install and data come first and every step needs them: their own budgets; the others' end by the deadline
    [ "$name" = install ] || [ "$name" = data ] || (( budget <= left )) || budget=$left
    if (( budget < 10 )); then
        printf '%s\tskipped\t-\t0\t%s\tno time left\n' "$name" "$budget" >>"$RUN/steps.tsv"
        echo "  $name: skipped (no time left)"
        return 0
    fi
    t0=$(date +%s%N)
    STEP_BUDGET=$budget timeout -k 15 "$budget" bash "$SELF" --step "$name" >"$RUN/logs/$name.log" 2>&1 </dev/null
    rc=$?
    t1=$(date +%s%N)
    case $rc in
        0) status=ok ;;
        124|137) status=timeout ;;
        *) status=failed ;;
    esac
    ms=$(( (t1 - t0) / 1000000 ))
    printf '%s\t%s\t%s\t%d.%d\t%s\t\n' "$name" "$status" "$rc" $((ms / 1000)) $((ms % 1000 / 100)) "$budget" \
        >>"$RUN/steps.tsv"
    echo "  $name: $status ($((ms / 1000)) s of $budget)"
}

for name in "${STEPS[@]}"; do
    run_step "$name"
done

# ------------------------------------------------------------------ summary and archive
"$PY" "$REPO/benchmarks/gpu/summarize.py" "$RUN" "$OUT_DIR" "$MODE" "$(( $(date +%s) - START ))" \
    || echo "summarize.py failed: see $RUN/steps.tsv and $RUN/logs"
tar -czf "$OUT_DIR/results.tar.gz" --exclude='*.ckpt' -C "$OUT_DIR" run
unfinished=$(cut -f2 "$RUN/steps.tsv" | grep -cv '^ok$')
[ -n "${OUT:-}" ] && [ "$OUT_DIR" = "$(cd "$OUT" && pwd)" ] && rm -rf "$RUN"  # the device tool: 8 files at most
rm -rf "$TMPW"
echo "sr_zoo gpu run: $(( $(date +%s) - START )) s; $OUT_DIR/summary.md"
cat "$OUT_DIR/summary.md" 2>/dev/null
[ "$unfinished" = 0 ]  # the exit status: 1 when a step failed, ran out of time or was skipped
