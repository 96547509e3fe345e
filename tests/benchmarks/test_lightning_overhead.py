"""benchmarks/lightning_overhead.py --smoke: a row per model, finite ratios, and the bare loop doing the same
arithmetic as ``Trainer.fit`` (behaviour only; no timing is asserted)."""

from __future__ import annotations

import json
import math
from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch

from helpers.paths import load_benchmark


def _benchmark():
    return load_benchmark("lightning_overhead")


def test_smoke_prints_a_row_per_model_with_finite_ratios(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bench = _benchmark()
    threads = torch.get_num_threads()
    assert bench.main(["--smoke", "--json", str(tmp_path / "table.json")]) == 0
    assert torch.get_num_threads() == threads  # the thread count it set is given back
    out = capsys.readouterr().out
    table = out[out.index("lightning_overhead:"):].splitlines()
    assert table[1].split()[:3] == ["model", "batch", "bare"]
    rows = {line.split()[0]: line.split() for line in table[2:]}
    assert set(rows) == set(bench.CASES) == {"fsrcnn_x3", "emtcm_x3", "csrcnn_x2", "msfmgan_x4"}

    saved = json.loads((tmp_path / "table.json").read_text())["rows"]
    assert [r["model"] for r in saved] == list(bench.CASES)
    for row in saved:
        for variant in bench.VARIANTS:
            assert math.isfinite(row[f"{variant}_ratio"]) and row[f"{variant}_ratio"] > 0, (row["model"], variant)
            assert row[f"{variant}_ms"] > 0
        # The bare loop is the module's training step written out: after the same batches from the same
        # initial weights, it holds the weights the Trainer's run holds.
        assert row["same_work"] < 1e-6, row["model"]
        printed = rows[row["model"]]
        assert float(printed[-1]) == pytest.approx(row["same_work"], abs=1e-6)
        assert float(printed[-2]) == pytest.approx(row["cli_ratio"], abs=1e-3)


def test_the_bare_gan_step_is_the_modules_step() -> None:
    """Without the Trainer, one bare GAN iteration changes both networks (D step, then G step with the
    adversarial term); a step that skipped either would leave that network's weights as they were."""
    bench = _benchmark()
    model = bench.build(bench.CASES["msfmgan_x4"], "smoke")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    step = bench.bare_step_fn(model)
    lr, hr = bench.make_pool(bench.CASES["msfmgan_x4"], 2, 8)
    step({"lr": lr[:2], "hr": hr[:2]}, 0)
    changed = {k.split(".")[0] for k, v in model.state_dict().items() if v.is_floating_point()
               and not torch.equal(v, before[k])}
    assert {"net", "discriminator"} <= changed


class _EpochMeans(L.Callback):
    """Each batch's loss and size, and what a (non-monitoring) callback reads as the epoch's mean at its end."""

    def __init__(self) -> None:
        self.batches: dict[int, list[tuple[float, int]]] = {}
        self.seen: dict[int, float | None] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        self.batches.setdefault(trainer.current_epoch, []).append((float(outputs["loss"]), batch["lr"].shape[0]))

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        value = trainer.callback_metrics.get("train/epoch_loss")
        self.seen[trainer.current_epoch] = None if value is None else float(value)

    def mean(self, epoch: int) -> float:
        rows = self.batches[epoch]
        return sum(loss * n for loss, n in rows) / sum(n for _, n in rows)


def _fit(tmp_path: Path, callbacks: tuple = (), validate: bool = False,
         **trainer_args) -> tuple[_EpochMeans, L.Trainer, list[str]]:
    """A tiny FSRCNN fitted on three batches of 3, 3 and 2 patches (the mean is weighted by batch size); the
    names it passed to ``self.log``."""
    from sr_zoo.models import create_model

    torch.manual_seed(0)
    model = create_model("fsrcnn", 2, d=8, s=4, m=1)
    logged: list[str] = []
    log = model.log

    def spy(name: str, *args, **kwargs) -> None:
        logged.append(name)
        log(name, *args, **kwargs)

    model.log = spy
    g = torch.Generator().manual_seed(0)
    batches = [{"lr": torch.rand(n, 3, 6, 6, generator=g), "hr": torch.rand(n, 3, 12, 12, generator=g)}
               for n in (3, 3, 2)]
    val = [{"lr": torch.rand(1, 3, 8, 8, generator=g), "hr": torch.rand(1, 3, 16, 16, generator=g), "name": ["v"]}]
    means = _EpochMeans()
    trainer = L.Trainer(default_root_dir=tmp_path, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[means, *callbacks], num_sanity_val_steps=0,
                        limit_val_batches=None if validate else 0, **trainer_args)
    loader = partial(torch.utils.data.DataLoader, batch_size=None)
    trainer.fit(model, train_dataloaders=loader(batches), val_dataloaders=loader(val) if validate else None)
    return means, trainer, logged


def test_epoch_loss_is_the_batch_weighted_mean_handed_to_lightning_once_per_epoch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sr_zoo.models import training_logs

    monkeypatch.setattr(training_logs, "STEP_LOG_INTERVAL", 1e9)
    means, _, logged = _fit(tmp_path, max_epochs=2)
    assert set(means.seen) == {0, 1}
    for epoch in (0, 1):
        assert means.seen[epoch] == pytest.approx(means.mean(epoch), rel=1e-6)
    assert means.mean(0) != pytest.approx(means.mean(1), rel=1e-6)  # two epochs, two different means
    assert logged.count("train/epoch_loss") == 2  # once per epoch, not once per batch
    # the step loss: no logger writes in 6 steps (log_every_n_steps 50), so only the progress bar's first value
    assert logged.count("train/loss") == 1


def test_epoch_loss_of_an_epoch_cut_by_max_steps(tmp_path: Path) -> None:
    means, _, logged = _fit(tmp_path, max_steps=4)
    assert [len(means.batches[e]) for e in (0, 1)] == [3, 1]
    assert means.seen[1] == pytest.approx(means.mean(1), rel=1e-6)
    assert logged.count("train/epoch_loss") == 2


def test_epoch_loss_of_an_epoch_stopped_by_a_validation_inside_it(tmp_path: Path) -> None:
    """A stop decided in a validation after batch 2 of 3 ends the epoch unforeseen: the mean of its two
    batches still reaches Lightning (in the module's own epoch-end hook)."""

    class StopAtValidation(L.Callback):
        def on_validation_end(self, trainer, pl_module) -> None:  # noqa: ANN001
            trainer.should_stop = True

    means, trainer, logged = _fit(tmp_path, callbacks=(StopAtValidation(),), validate=True, max_epochs=3,
                                  val_check_interval=2)
    assert list(means.batches) == [0] and len(means.batches[0]) == 2
    assert float(trainer.callback_metrics["train/epoch_loss"]) == pytest.approx(means.mean(0), rel=1e-6)
    assert logged.count("train/epoch_loss") == 1
