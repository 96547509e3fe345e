#!/usr/bin/env bash
# EMTCM's padding measured both ways (issue 26): experiments/emtcm_x3_t91.yaml trained twice with the same seed,
# data order and budget (STEPS optimizer steps of batch 16, default 20000 = 320k patches; one thread, no
# validation), once with padding_mode zeros (the default: PyTorch 1.0's, EMTCM paper Sec. 4.2) and once with
# replicate (the FSRCNN authors' code), then each scored on Set5 and Set14 x3 with sr-zoo benchmark.
# Usage: bash benchmarks/emtcm_padding.sh [OUTPUT_DIR [STEPS]]   (data: SR_ZOO_DATA, default ../shared/data)
set -euo pipefail
out="$(realpath -m "${1:-runs/emtcm_padding}")"
steps="${2:-20000}"
cd "$(dirname "$0")/.."
export SR_ZOO_DATA="${SR_ZOO_DATA:-$(cd .. && pwd)/shared/data}" WANDB_MODE=disabled OMP_NUM_THREADS=1
for mode in zeros replicate; do
    [ -f "$out/$mode/checkpoints/last.ckpt" ] || \
        sr-zoo fit --config experiments/emtcm_x3_t91.yaml --model.init_args.padding_mode "$mode" \
            --data.val "[]" --data.test "[]" --data.num_workers 0 --trainer.max_steps "$steps" \
            --trainer.max_epochs -1 --trainer.logger false --trainer.enable_progress_bar false \
            --trainer.check_val_every_n_epoch 100000 --trainer.default_root_dir "$out/$mode"
done
for mode in zeros replicate; do
    echo "padding_mode $mode:"
    sr-zoo benchmark --model emtcm --scale 3 --ckpt "$out/$mode/checkpoints/last.ckpt" \
        --data "$SR_ZOO_DATA/Set5" "$SR_ZOO_DATA/Set14" --format markdown
done
