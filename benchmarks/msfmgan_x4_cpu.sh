#!/usr/bin/env bash
# Learning for real, on this CPU: the MSFM generator x4 trained with MSE for 15 minutes (the stage behind
# Table 1's "Ours (MSE)"), then 6 minutes of adversarial training starting from it, each scored on Set5 and
# Set14 x4 next to bicubic. Smaller than the paper to fit the budget (our choices): widths 32/64/128,
# batches of 16 HR crops of 64x64 from T91 + General-100 (DIV2K cannot be fetched here), plain bicubic LR
# (the evaluation's degradation; 4.1's blur is kept in the recipes), Adam 5e-4, and no perceptual term
# (VGG16's weights cannot be fetched here). Usage: bash benchmarks/msfmgan_x4_cpu.sh [OUTPUT_DIR]
set -euo pipefail
out="$(realpath -m "${1:-runs/msfmgan_x4_cpu}")"
cd "$(dirname "$0")/.."
export SR_ZOO_DATA="${SR_ZOO_DATA:-$(cd .. && pwd)/shared/data}" WANDB_MODE="${WANDB_MODE:-disabled}"
common=(--model msfmgan --scale 4 --model.init_args.widths "[32, 64, 128]" --model.init_args.d_widths "[32, 64, 64, 64]"
        --model.init_args.lr 5e-4 --model.init_args.perceptual_weight 0 --model.init_args.lr_decay_every 0
        --data.train "[t91, general100]" --data.val "[set5]" --data.patch_size 64 --data.batch_size 16
        --data.degradation bicubic --data.seed 0 --seed_everything 0 --trainer.enable_progress_bar false
        --trainer.logger false --trainer.check_val_every_n_epoch 1000 --trainer.max_epochs -1)
# 1. MSE stage: the whole run is "pretrain" (the adversarial stage never starts). Skipped when
#    OUTPUT_DIR/mse.ckpt exists, so that step 2 can be rerun alone.
if [ ! -f "$out/mse.ckpt" ]; then
    sr-zoo fit "${common[@]}" --model.init_args.pretrain_iterations 100000000 --trainer.max_time 00:00:15:00 \
        --trainer.default_root_dir "$out/mse"
    cp "$out/mse/checkpoints/last.ckpt" "$out/mse.ckpt"
fi
sr-zoo benchmark --model bicubic --scale 4 --data "$SR_ZOO_DATA/Set5" "$SR_ZOO_DATA/Set14"
sr-zoo benchmark --model msfmgan --ckpt "$out/mse.ckpt" --scale 4 --data "$SR_ZOO_DATA/Set5" "$SR_ZOO_DATA/Set14"
# 2. Adversarial stage: a new run whose generator starts from the MSE one (init_from; resuming would
#    restore the MSE run's stage lengths with its other hyper-parameters).
sr-zoo fit "${common[@]}" --model.init_args.pretrain_iterations 0 --model.init_args.init_from "$out/mse.ckpt" \
    --trainer.max_time 00:00:06:00 --trainer.default_root_dir "$out/gan"
sr-zoo benchmark --model msfmgan --ckpt "$out/gan/checkpoints/last.ckpt" --scale 4 --data "$SR_ZOO_DATA/Set5" "$SR_ZOO_DATA/Set14"
python - "$out/mse.ckpt" "$out/gan/checkpoints/last.ckpt" <<'PY'
import sys, torch
for name, path in zip(("MSE run", "adversarial run"), sys.argv[1:]):
    ckpt = torch.load(path, weights_only=True, map_location="cpu")
    print(f"{name}: {ckpt['SRDataModule']['progress']['batches']} iterations (batches), {ckpt['global_step']} optimizer steps")
PY
