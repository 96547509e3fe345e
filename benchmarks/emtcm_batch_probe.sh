#!/usr/bin/env bash
# EMTCM x3 recipe, 4 minutes of CPU training each with batch 64 and batch 16, scored on Set5 x3: on a
# 2-core CPU more, smaller steps win (the figures quoted in experiments/emtcm_x3_t91.yaml).
# Usage: bash benchmarks/emtcm_batch_probe.sh [OUTPUT_DIR [extra sr-zoo fit arguments]]
# (needs the real T91 and Set5, SR_ZOO_DATA). The recipe's figures: ... --model.init_args.ce_reading image
set -euo pipefail
out="$(realpath -m "${1:-runs/emtcm_batch_probe}")"
cd "$(dirname "$0")/.."
export SR_ZOO_DATA="${SR_ZOO_DATA:-$(cd .. && pwd)/shared/data}" WANDB_MODE="${WANDB_MODE:-disabled}"
for bs in 64 16; do
  sr-zoo fit --config benchmarks/configs/emtcm_x3_cpu.yaml --trainer.max_time 00:00:04:00 --trainer.default_root_dir "$out/b$bs" \
    --trainer.enable_progress_bar false --trainer.logger false --trainer.check_val_every_n_epoch 1000 --data.batch_size "$bs" "${@:2}"
  echo "batch $bs:"
  sr-zoo benchmark --model emtcm --ckpt "$out/b$bs/checkpoints/last.ckpt" --scale 3 --data "$SR_ZOO_DATA/Set5"
done
