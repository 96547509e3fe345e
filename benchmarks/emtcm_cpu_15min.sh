#!/usr/bin/env bash
# Learning for real: benchmarks/configs/emtcm_x3_cpu.yaml trained for 15 minutes on this CPU, then scored on Set5
# x3 next to bicubic with `sr-zoo benchmark`. Needs the real T91/General-100/Set5 (SR_ZOO_DATA, default
# ../shared/data). Usage: bash benchmarks/emtcm_cpu_15min.sh [OUTPUT_DIR [extra sr-zoo fit arguments]]
# e.g. ... runs/image_ce --model.init_args.ce_reading image
set -euo pipefail
out="$(realpath -m "${1:-runs/emtcm_x3_cpu15}")"
cd "$(dirname "$0")/.."
export SR_ZOO_DATA="${SR_ZOO_DATA:-$(cd .. && pwd)/shared/data}"
export WANDB_MODE="${WANDB_MODE:-offline}"
sr-zoo fit --config benchmarks/configs/emtcm_x3_cpu.yaml --trainer.max_time 00:00:15:00 \
    --trainer.default_root_dir "$out" --trainer.enable_progress_bar false --trainer.logger false \
    --trainer.check_val_every_n_epoch 10 "${@:2}"
ckpt="$(find "$out" -name last.ckpt | head -n 1)"
sr-zoo benchmark --model bicubic --scale 3 --data "$SR_ZOO_DATA/Set5" "$SR_ZOO_DATA/Set14"
sr-zoo benchmark --model emtcm --ckpt "$ckpt" --scale 3 --data "$SR_ZOO_DATA/Set5" "$SR_ZOO_DATA/Set14"
