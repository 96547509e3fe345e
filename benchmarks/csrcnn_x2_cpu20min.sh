#!/usr/bin/env bash
# Learning for real: the CSRCNN x2 stage (one level) trained 20 minutes on this CPU, scored on Set5 x2
# next to bicubic. Data: T91 + General-100 (DIV2K, the paper's, cannot be fetched here) with the CSRCNN
# preset (offline 0.9/0.8/0.7/0.5 downscaling, online flips/rotations, 32x32 LR patches). Adam (lr 1e-4)
# instead of the paper's SGD, whose learning rate the paper does not give.
# Usage: bash benchmarks/csrcnn_x2_cpu20min.sh [OUTPUT_DIR [extra sr-zoo fit arguments]]
set -euo pipefail
out="$(realpath -m "${1:-runs/csrcnn_x2_cpu20}")"
cd "$(dirname "$0")/.."
export SR_ZOO_DATA="${SR_ZOO_DATA:-$(cd .. && pwd)/shared/data}" WANDB_MODE="${WANDB_MODE:-disabled}"
sr-zoo fit --model csrcnn --scale 2 --model.init_args.optimizer adam --model.init_args.lr 1e-4 \
    --data.train "[t91, general100]" --data.recipe csrcnn --data.val "[set5]" --data.batch_size 16 \
    --trainer.max_time 00:00:20:00 --trainer.default_root_dir "$out" --trainer.enable_progress_bar false \
    --trainer.logger false --trainer.check_val_every_n_epoch 1000 "${@:2}"
sr-zoo benchmark --model bicubic --scale 2 --data "$SR_ZOO_DATA/Set5" "$SR_ZOO_DATA/Set14"
sr-zoo benchmark --model csrcnn --ckpt "$out/checkpoints/last.ckpt" --scale 2 --data "$SR_ZOO_DATA/Set5" "$SR_ZOO_DATA/Set14"
