"""The Lightning loop internals the zoo reads (``sr_zoo.training.loop_internals``) exist and mean what it uses
them for, on the Lightning installed: a tiny fit records what each says at every batch end."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from sr_zoo.training import loop_internals


class _Recorder(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.seen: list[tuple[int, int, bool]] = []
        self.written: list[bool] = []

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        self.written.append(loop_internals.logger_writes(self.trainer))
        return self.layer(batch[0]).pow(2).mean()

    def on_train_batch_end(self, outputs: object, batch: object, batch_idx: int) -> None:
        trainer = self.trainer
        self.seen.append((trainer.current_epoch, loop_internals.batches_started(trainer),
                          loop_internals.epoch_may_end(trainer)))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_the_loop_internals_read_what_the_zoo_expects(tmp_path: Path) -> None:
    model = _Recorder()
    data = DataLoader(TensorDataset(torch.ones(6, 1)), batch_size=2)  # 3 batches an epoch
    trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, log_every_n_steps=2)
    assert loop_internals.batches_started(trainer) == -1  # before the first batch
    trainer.fit(model, data)
    # every batch started counted over the run; only an epoch's last batch may end it
    assert model.seen == [(0, 0, False), (0, 1, False), (0, 2, True), (1, 3, False), (1, 4, False), (1, 5, True)]
    assert model.written == [False, True, False, True, False, True]  # the 2nd, 4th and 6th steps' values
    counters = loop_internals.epoch_counters(trainer)
    assert (counters.ready, counters.started, counters.processed, counters.completed) == (2, 2, 2, 2)
    val = trainer.fit_loop.epoch_loop.val_loop.batch_progress  # what restart_validation rewrites
    loop_internals.restart_validation(trainer)
    assert (val.current.ready, val.current.started, val.current.processed, val.current.completed) == (1, 1, 0, 0)
    assert val.is_last_batch is False
