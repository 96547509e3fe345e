#!/usr/bin/env bash
# The small models' shipped weights (src/sr_zoo/models/weights/), trained on this project's 2-core CPU:
# EMTCM x3 with its recipe (12 minutes), EMTCM x2 and x4 from it by the paper's cross-scale fine-tuning
# of the deconvolution only (EMTCM paper, Sec. 4.2; 3 minutes each), SRCNN and FSRCNN at x2/x3/x4
# (3 minutes each). Our choices for the budget: batches of 16, Adam at 1e-3 for SRCNN/FSRCNN, seed 0,
# data T91 (+ General-100 for the fine-tuning) with the emtcm preset. Then
# benchmarks/export_pretrained.py copies each network's weights into the package with their sha256,
# this command and their Set5/Set14 scores.
# Usage: bash benchmarks/train_pretrained.sh [RUNS_DIR [extra sr-zoo fit arguments, given to every run]]
# (data: SR_ZOO_DATA, default ../shared/data). For other machines (benchmarks/gpu/run.sh):
# SR_ZOO_PRETRAINED_ONLY="emtcm_x3 srcnn_x3" trains only those runs, SR_ZOO_PRETRAINED_TIME=DD:HH:MM:SS
# replaces every run's budget, SR_ZOO_PRETRAINED_EXPORT=0 leaves the export out.
set -euo pipefail
out="$(realpath -m "${1:-runs/pretrained}")"
extra=("${@:2}")
cd "$(dirname "$0")/.."
export SR_ZOO_DATA="${SR_ZOO_DATA:-$(cd .. && pwd)/shared/data}" WANDB_MODE="${WANDB_MODE:-disabled}"
only=" ${SR_ZOO_PRETRAINED_ONLY:-} "
fit() {  # NAME SCALE MINUTES [sr-zoo fit arguments]
    local name=$1 scale=$2 minutes=$3
    shift 3
    [ "$only" = "  " ] || [[ "$only" == *" ${name}_x${scale} "* ]] || return 0  # not asked for
    [ -f "$out/${name}_x${scale}/checkpoints/last.ckpt" ] && return 0  # done before: keep it
    sr-zoo fit "$@" --scale "$scale" --data.batch_size 16 --data.seed 0 --seed_everything 0 \
        --trainer.max_time "${SR_ZOO_PRETRAINED_TIME:-$(printf '00:00:%02d:00' "$minutes")}" \
        --trainer.max_epochs -1 --trainer.logger false \
        --trainer.enable_progress_bar false --trainer.check_val_every_n_epoch 100000 \
        --trainer.default_root_dir "$out/${name}_x${scale}" ${extra[@]+"${extra[@]}"}
}
fit emtcm 3 12 --config benchmarks/configs/emtcm_x3_cpu.yaml
for s in 2 4; do
    fit emtcm "$s" 3 --config benchmarks/configs/emtcm_from_x3_cpu.yaml \
        --model.init_args.init_from "$out/emtcm_x3/checkpoints/last.ckpt"
done
for s in 2 3 4; do
    fit srcnn "$s" 3 --config experiments/srcnn_x3.yaml --model.init_args.lr 1e-3 --model.init_args.last_lr 1e-4
    fit fsrcnn "$s" 3 --config experiments/fsrcnn_x3.yaml --model.init_args.lr 1e-3 --model.init_args.deconv_lr 1e-4
done
[ "${SR_ZOO_PRETRAINED_EXPORT:-1}" = 0 ] || python benchmarks/export_pretrained.py "$out"
