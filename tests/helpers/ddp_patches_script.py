"""Run by tests/data/test_ddp_data.py: 2-process DDP (gloo, CPU) training that records each rank's patches.

Usage (``PYTHONPATH=tests``): ``python -m helpers.ddp_patches_script ROOT OUT``.
"""

import sys
import warnings
from pathlib import Path

import lightning as L
import torch

from sr_zoo.data import SRDataModule

# Not run by pytest (no pyproject filters here): Lightning's own call of a deprecated torch check, in each rank.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)


class Recorder(L.LightningModule):
    def __init__(self, out: str) -> None:
        super().__init__()
        self.layer = torch.nn.Conv2d(3, 3, 1)
        self.out = Path(out)
        self.seen: list[str] = []

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        # One fingerprint per patch: the rounded pixel sum and the first row, enough to tell patches apart.
        for hr in batch["hr"]:
            self.seen.append(f"{float(hr.sum()):.3f}:{hr[0, 0, :4].tolist()}")
        return self.layer(batch["lr"]).mean()

    def on_train_end(self) -> None:
        (self.out / f"rank{self.global_rank}.txt").write_text("\n".join(self.seen))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


if __name__ == "__main__":
    root, out = sys.argv[1], sys.argv[2]
    L.seed_everything(0, workers=True)
    dm = SRDataModule(train=["demo"], val=[], scale=2, patch_size=32, batch_size=4, num_workers=2, root=root,
                      samples_per_epoch=40)
    trainer = L.Trainer(
        accelerator="cpu", devices=2, strategy="ddp", max_epochs=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )
    trainer.fit(Recorder(out), datamodule=dm)
