"""``SRDataModule``: one LightningDataModule serving every paper's training patches and benchmark sets."""

from __future__ import annotations

import os
import warnings
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch.utils.data import DataLoader

from sr_zoo.data.bank import BankDataset, bank_rows, open_bank
from sr_zoo.data.eval_sets import BenchmarkDataset, LRFolder
from sr_zoo.data.patches import PatchDataset, collate_patches
from sr_zoo.data.recipes import get_recipe
from sr_zoo.data.sampling import ResumableSampler, TrainingProgress
from sr_zoo.data.sources import (
                                 Record,
                                 data_root,
                                 display_name,
                                 is_test_set_name,
                                 resolve_benchmark,
                                 resolve_source,
                                 user_cache,
)
from sr_zoo.errors import DatasetError
from sr_zoo.interrupts import end_workers_at_exit, worker_init
from sr_zoo.metric_names import EXTRA_METRICS

__all__ = ["EVAL_METRICS", "SRDataModule"]

EVAL_METRICS = EXTRA_METRICS  # the metrics validation/testing adds by name (sr_zoo.metric_names)
"""Metrics validation and testing can score beside PSNR/SSIM (``SRDataModule(eval_metrics=...)``)."""

_DEFAULT_BANK_LIMIT = 4 * 2**30  # bytes: a default bank larger than this is not made (DIV2K under a small recipe)
_DOWNLOADABLE = {"div2k": "div2k", "coco-stuff": "coco-stuff", "t91": "t91-download"}  # source -> dataset fetched


class SRDataModule(L.LightningDataModule):
    """Training patches from named sources, and benchmark sets for validation and testing.

    Args:
        train: training sources, combined: ``t91``, ``general100``, ``div2k``, ``coco-stuff``, ``demo``,
            ``name:PATH`` (a named layout at PATH), ``folder:PATH`` or a plain folder path. Default: the
            recipe's sources, or ``demo`` (photos bundled with scikit-image) when there is no recipe.
        val: test sets for validation: names (``set5``, ``set14``, ``bsd100``/``b100``, ``urban100``,
            ``manga109``, ``bsd200``, ``div2k-val``: fetched on first use, see ``sr_zoo.data.sources``), ``demo``
            or folder paths. Default: Set5 and Set14 if already under ``root``, else ``demo``.
        test: benchmark sets for testing; default: the same as ``val``.
        predict: folders of LR images to upscale with ``predict``.
        scale: upscaling factor.
        patch_size: HR patch side (a multiple of ``scale``); default: the recipe's, else ``24 * scale``
            (a 24x24 LR patch).
        batch_size: patches per batch (a multiple of ``crops_per_image``).
        recipe: a paper's data preset: ``none``, ``emtcm``, ``csrcnn``, ``msfmgan`` or ``srseg``
            (``sr_zoo.data.recipes``).
        degradation: ``bicubic`` (MATLAB) or ``gaussian-bicubic``; default: the recipe's.
        blur_sigma: Gaussian standard deviation for ``gaussian-bicubic``; default: the recipe's.
        augment: random flips and 90-degree rotations online; default: the recipe's.
        crops_per_image: patches cut from each decoded image per item (cheaper decoding for big images).
        samples_per_epoch: items per epoch; default: one per image version, and at least 64 batches
            (so that a small source such as ``demo`` still makes a useful epoch).
        boundary_radius: disk radius of the SRSEG boundary mask, in LR pixels (SRSEG paper, Sec. 3.2).
        coco_stuff_per_class: SRSEG's selection of COCO-Stuff (3.4): only images dominated by the five
            background classes, at most this many per class (12000 in the SRSEG recipes), drawn with the
            data seed; ``None`` uses every labelled image (``sr_zoo.data.coco_selection``).
        coco_stuff_min_background: the share of an image's labelled pixels the five background classes
            must cover for it to be selected.
        eval_degradation: how validation/test LR images are made: ``bicubic`` (MATLAB bicubic, what
            every paper's table uses) or ``train`` (the training degradation, e.g. the MSFM GAN's blur).
        eval_metrics: metrics scored beside PSNR/SSIM in validation and testing: ``niqe`` (no reference,
            ``sr_zoo.metrics.NIQE``), ``lpips`` (``sr_zoo.metrics.LPIPS``); logged as ``val/<Set>/<metric>``.
        num_workers: DataLoader worker processes (persistent, so each decodes its images once); default: none
            when training on the CPU (the model's threads already use every core, and workers take their time
            from them: ``benchmarks/training_speed.py``), else ``min(4, CPUs)`` (``default_workers``).
        bank: serve training patches from a patch bank: the fixed set of LR sub-images at ``bank_stride`` on each
            (offline-augmented) image's LR grid with their HR, made once, kept on disk and memory-mapped
            (``sr_zoo.data.bank``; EMTCM paper, Sec. 4.1); batches then cost one gather. Default: the recipe's
            (``emtcm``), when the sources allow one (no label maps or LR files) and it stays under 4 GiB.
            A Y-channel model (SRCNN, FSRCNN, EMTCM) gets a bank of Y patches (8-bit, as the authors' scripts
            make them with MATLAB's ``rgb2ycbcr``).
        bank_stride: LR stride of the bank's sub-images; default: the recipe's, else half the LR patch.
        bank_dir: where banks are kept; default ``ROOT/banks`` (next to the data), or the user's cache
            (``~/.cache/sr_zoo/banks``) where ``ROOT`` cannot be written (a shared, read-only data folder).
        bank_channels: the bank's channels, 1 (Y) or 3 (RGB); default: what the trainer's model trains on (Y for a
            ``y_channel`` model), RGB without a trainer. For a datamodule used outside ``fit`` (benchmarks, analyses)
            that must serve the patches fit serves.
        root: data root; default ``$SR_ZOO_DATA``, else ``~/.cache/sr_zoo``.
        cache_mb: per-worker memory for decoded images.
        download: fetch a missing named dataset (DIV2K, COCO-Stuff) from its official source.
        seed: seed of the training order and of every patch's crop and flips; default: the run's
            ``seed_everything`` seed, else a random one (the same on every rank). Stored in checkpoints.

    Training is resumable at any batch: the sampler's order and each item's randomness are functions of
    ``(seed, epoch, index)`` (``sr_zoo.data.sampling``), each training batch reports its place in the
    stream, and ``state_dict`` keeps that place (``progress``) in the checkpoint. Schedules read the
    same place (``sr_zoo.training.progress``). Training sources can change at an epoch (``add_train_stage``).
    """

    def __init__(
        self,
        train: list[str] | None = None,
        val: list[str] | None = None,
        test: list[str] | None = None,
        predict: list[str] | None = None,
        scale: int = 4,
        patch_size: int | None = None,
        batch_size: int = 16,
        recipe: str = "none",
        degradation: str | None = None,
        blur_sigma: float | None = None,
        augment: bool | None = None,
        crops_per_image: int = 1,
        samples_per_epoch: int | None = None,
        boundary_radius: int = 2,
        coco_stuff_per_class: int | None = None,
        coco_stuff_min_background: float = 0.5,
        eval_degradation: str = "bicubic",
        eval_metrics: list[str] | None = None,
        num_workers: int | None = None,
        bank: bool | None = None,
        bank_stride: int | None = None,
        bank_dir: str | None = None,
        bank_channels: int | None = None,
        root: str | None = None,
        cache_mb: int = 1024,
        download: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.recipe = get_recipe(recipe)
        if scale < 1 or int(scale) != scale:
            raise DatasetError(f"scale must be a positive integer, got {scale}")
        if bank_channels not in (None, 1, 3):
            raise DatasetError(f"bank_channels must be 1 (Y) or 3 (RGB), got {bank_channels}")
        if bank_stride is not None and (int(bank_stride) != bank_stride or bank_stride < 1):
            raise DatasetError(f"bank_stride must be a positive integer, got {bank_stride}")
        if batch_size % crops_per_image:
            raise DatasetError(f"batch_size {batch_size} is not a multiple of crops_per_image {crops_per_image}")
        self.scale = int(scale)
        self.eval_scale = self.scale
        self.root = data_root(root)
        self.train_sources = list(train) if train else list(self.recipe.train)
        self.val_sources = list(val) if val is not None else _default_val_sets(self.root)
        self.test_sources = list(test) if test is not None else list(self.val_sources)
        self.patch_size = patch_size or self.recipe.patch_size(self.scale) or 24 * self.scale
        self.degradation = degradation or self.recipe.degradation
        self.blur_sigma = blur_sigma if blur_sigma is not None else self.recipe.blur_sigma
        self.augment = augment if augment is not None else self.recipe.online_augment
        if eval_degradation not in ("bicubic", "train"):
            raise DatasetError(f"eval_degradation must be 'bicubic' or 'train', got {eval_degradation!r}")
        self.eval_metrics = list(eval_metrics or [])
        unknown = [m for m in self.eval_metrics if m not in EVAL_METRICS]
        if unknown:
            raise DatasetError(f"eval_metrics: unknown {unknown[0]!r}; known: {', '.join(EVAL_METRICS)}")
        self.bank_dir = Path(bank_dir).expanduser() if bank_dir else _default_bank_dir(self.root)
        self.train_set: PatchDataset | BankDataset | None = None
        self._bank_from_checkpoint: bool | None = None  # a resumed run keeps the data path it was trained with
        self.val_sets: list[BenchmarkDataset] = []
        self.test_sets: list[BenchmarkDataset] = []
        self.predict_sets: list[LRFolder] = []
        self.progress = TrainingProgress()
        self._train_stages: list[tuple[int, list[str]]] = []  # (first epoch, sources), from add_train_stage
        self._train_set_sources: list[str] | None = None  # the sources self.train_set was built from
        self._train_loader: DataLoader | None = None

    # ------------------------------------------------------------------ Lightning hooks
    def prepare_data(self) -> None:
        """Download missing named datasets (runs on one process per node)."""
        from sr_zoo.data.download import ensure_dataset

        for spec in self.train_sources:
            name, _, path = spec.partition(":")
            if name.lower() in _DOWNLOADABLE and not path and not _present(self.root, name.lower()):
                ensure_dataset(_DOWNLOADABLE[name.lower()], self.root, download=self.hparams.download)
        # Named validation sets are fetched here, once per node; test sets when a test runs (setup("test"):
        # a fit does not need them, and the download is under a lock, so ranks wait for the first one).
        for spec in self.val_sources:
            if is_test_set_name(spec):
                resolve_benchmark(spec, self.root, download=self.hparams.download)

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit") and self.train_set is None:
            self.progress.seed = self._resolve_seed()
            self._build_train_set(self.sources_for_epoch(self.progress.next_start()[0]))
        if stage in (None, "fit", "validate") and not self.val_sets:
            if self.hparams.val is None and self.val_sources == ["demo"]:
                rank_zero_warn(f"val: set5, set14 not found under {self.root}: validating on the demo photos "
                               "bundled with scikit-image (pass --data.val \"[set5, set14]\" to fetch the test sets)")
            self.val_sets = self._benchmarks(self.val_sources, "val")
        if stage in (None, "test") and not self.test_sets:
            self.test_sets = self._benchmarks(self.test_sources, "test")
        if stage == "predict":
            if not self.hparams.predict:
                raise DatasetError("predict needs folders of LR images: --data.predict [DIR, ...]")
            self.predict_sets = [LRFolder(folder) for folder in self.hparams.predict]

    def set_eval_scale(self, scale: int) -> None:
        """Validate and test at ``scale`` (a curriculum stage below the training scale).

        The benchmark datasets make their LR on the fly, so they change in place: loaders already
        handed to Lightning score at the new factor without being rebuilt.
        """
        if scale != self.eval_scale:
            self.eval_scale = scale
            for dataset in self.val_sets + self.test_sets:
                dataset.set_scale(scale)

    # ------------------------------------------------------------------ training data and its schedule
    def add_train_stage(self, first_epoch: int, sources: Sequence[str]) -> None:
        """Train on ``sources`` from epoch ``first_epoch`` on (a data schedule such as EMTCM's two steps).

        The loader is rebuilt at that epoch (the caller sets ``Trainer.reload_dataloaders_every_n_epochs``;
        ``train_dataloader`` hands back the same loader, workers and decode caches while nothing changes).
        """
        stages = {e: list(s) for e, s in [*self._train_stages, (int(first_epoch), list(sources))]}
        self._train_stages = sorted(stages.items())

    def sources_for_epoch(self, epoch: int) -> list[str]:
        """The training sources of ``epoch``."""
        sources = self.train_sources
        for first_epoch, stage_sources in self._train_stages:
            if epoch >= first_epoch:
                sources = stage_sources
        return list(sources)

    def set_train_sources(self, sources: list[str]) -> None:
        """Train on ``sources`` (until a stage added by ``add_train_stage`` says otherwise)."""
        self.train_sources = list(sources)
        self._build_train_set(self.sources_for_epoch(self.progress.next_start()[0]))

    def _build_train_set(self, sources: list[str]) -> None:
        if sources != self._train_set_sources or self.train_set is None:
            self.train_set = self._train_dataset(sources)
            self._train_set_sources = list(sources)
            self._train_loader = None

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup('fit') first"
        self._build_train_set(self.sources_for_epoch(self.progress.next_start()[0]))
        if self._train_loader is not None:  # same data: same loader, same persistent workers and caches
            return self._train_loader
        items_per_batch = self.items_per_batch
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = ResumableSampler(
            len(self.train_set), self.progress, num_replicas=world, rank=rank, batch_size=items_per_batch,
            drop_last=len(self.train_set) // world >= items_per_batch,
        )
        # Lightning warns that a run resumed inside an epoch with a loader lacking state_dict may train on other
        # data; this loader's order and patches are functions of the position the datamodule checkpoints
        # (sr_zoo.data.sampling), so the resumed run sees what the uninterrupted one would
        # (tests/training/test_resume.py).
        warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")
        workers = self.hparams.num_workers
        if workers is None:
            workers = default_workers(trainer)
            if workers == 0:  # chosen, not forgotten: Lightning's advice to add workers does not hold on the CPU
                warnings.filterwarnings("ignore", message="The 'train_dataloader' does not have many workers")
        if workers > 0:
            end_workers_at_exit()
        self._train_loader = DataLoader(
            self.train_set,
            batch_size=items_per_batch,
            sampler=sampler,
            num_workers=workers,
            persistent_workers=workers > 0,
            # Workers ignore Ctrl+C/SIGTERM (the main process stops the run and them), and are seeded as
            # Lightning's own worker_init_fn would seed them.
            worker_init_fn=partial(worker_init, rank=rank) if workers > 0 else None,
            pin_memory=torch.cuda.is_available(),
            collate_fn=collate_patches,
        )
        return self._train_loader

    def on_exception(self, exception: BaseException) -> None:
        """Shut the training loader's workers down when a run fails or is stopped.

        After an exception Lightning tears down only the loop that was running: one raised during
        validation (a stop signal there, an error) would leave the training loader's persistent workers
        running, and they ignore SIGTERM (``sr_zoo.interrupts.worker_init``), so the process would not exit.
        """
        if self.trainer is not None:
            self.trainer.fit_loop.teardown()

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Note where a training batch sits in the data stream (``progress``); models never see it."""
        if isinstance(batch, dict) and "position" in batch:
            position = batch.pop("position")
            trainer = self.trainer
            if trainer is not None and trainer.training:
                self.progress.record(*position.tolist())
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {"progress": self.progress.state_dict(), "bank": isinstance(self.train_set, BankDataset)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "progress" in state_dict:
            self.progress.load_state_dict(state_dict["progress"])
            banked = bool(state_dict.get("bank", False))  # checkpoints from before the bank had none
            if self.train_set is not None and banked != isinstance(self.train_set, BankDataset):
                self._bank_from_checkpoint = banked
                rank_zero_info(f"sr_zoo: the checkpoint's run was trained {'with' if banked else 'without'} the "
                               "patch bank; resuming it so, to continue its data stream")
                self.train_set = None
            if self.train_set is not None or self._bank_from_checkpoint is not None:
                self._build_train_set(self.sources_for_epoch(self.progress.next_start()[0]))

    @property
    def items_per_batch(self) -> int:
        """Dataset items in a training batch (each item holds ``crops_per_image`` patches)."""
        return self.hparams.batch_size // self.hparams.crops_per_image

    def _resolve_seed(self) -> int:
        """The data seed: the argument, else ``seed_everything``'s, else random; rank 0's on every rank."""
        if self.hparams.seed is not None:
            return int(self.hparams.seed)
        if "PL_GLOBAL_SEED" in os.environ:
            return int(os.environ["PL_GLOBAL_SEED"])
        seed = int.from_bytes(os.urandom(4), "little") >> 1
        trainer = self.trainer
        if trainer is not None and trainer.world_size > 1:
            seed = int(trainer.strategy.broadcast(seed, src=0))
        return seed

    def val_dataloader(self) -> list[DataLoader]:
        # An image that fails to decode is skipped, warned once and counted: it never ends a fit.
        for dataset in self.val_sets:
            dataset.skip_unreadable = True
        return [self._benchmark_loader(d) for d in self.val_sets]

    def test_dataloader(self) -> list[DataLoader]:
        return [self._benchmark_loader(d) for d in self.test_sets]

    def predict_dataloader(self) -> list[DataLoader]:
        return [DataLoader(d, batch_size=1, collate_fn=_collate_one) for d in self.predict_sets]

    # ------------------------------------------------------------------ helpers
    @property
    def val_names(self) -> list[str]:
        """Names of the validation sets, in dataloader order (for metric names such as ``val/Set5/psnr``)."""
        return [d.name for d in self.val_sets]

    @property
    def test_names(self) -> list[str]:
        return [d.name for d in self.test_sets]

    def _train_dataset(self, sources: list[str]) -> PatchDataset | BankDataset:
        if not self.hparams.train and sources == ["demo"]:
            rank_zero_info(
                "sr_zoo: no training data given: training on the demo photos bundled with scikit-image "
                "(pass --data.train t91, div2k, a folder ...)"
            )
        records: list[Record] = []
        for spec in sources:
            name, found, unlabeled = resolve_source(spec, self.root, self.scale)
            if unlabeled:
                rank_zero_warn(f"{name}: skipped {len(unlabeled)} image(s) without a label map, e.g. {unlabeled[0]}")
            if name == "coco-stuff" and self.hparams.coco_stuff_per_class and found:
                found = self._srseg_selection(found)
            records.extend(found)
        if any(r.label is not None for r in records) and not all(r.label is not None for r in records):
            raise DatasetError("cannot mix sources with and without label maps in one training set")
        bank = self._wants_bank(records)
        patches = PatchDataset(
            records,
            self.scale,
            self.patch_size,
            offline_scales=self.recipe.offline_scales,
            offline_rotations=self.recipe.offline_rotations,
            subimage=self.recipe.subimage,
            subimage_stride=self.recipe.subimage_stride,
            augment=self.augment,
            degradation=self.degradation,
            blur_sigma=self.blur_sigma,
            boundary_radius=self.hparams.boundary_radius,
            crops_per_image=self.hparams.crops_per_image,
            samples_per_epoch=self.hparams.samples_per_epoch,
            min_samples_per_epoch=64 * self.hparams.batch_size // self.hparams.crops_per_image,
            cache_mb=self.hparams.cache_mb,
            lr_from_image=self.recipe.lr_from_image or bank,
        )
        return self._bank(patches) if bank else patches

    def _wants_bank(self, records: list[Record]) -> bool:
        """Whether training serves a patch bank: as the checkpoint's run did, else as asked, else the recipe's."""
        asked = self._bank_from_checkpoint if self._bank_from_checkpoint is not None else self.hparams.bank
        if asked is False or (asked is None and self.recipe.bank_stride is None):
            return False
        why_not = ("its images have label maps" if any(r.label is not None for r in records)
                   else "its images come with LR files" if any(r.lr is not None for r in records) else None)
        if why_not and asked:
            raise DatasetError(f"--data.bank: a patch bank cannot be made from this training set: {why_not}")
        return why_not is None

    def _bank(self, patches: PatchDataset) -> PatchDataset | BankDataset:
        """The bank of ``patches``' images (made on first use), or ``patches`` if the default bank is too big."""
        stride = self.hparams.bank_stride or self.recipe.bank_stride or max(1, patches.patch_size // self.scale // 2)
        module = self.trainer.lightning_module if self.trainer is not None else None
        trains_on = (1 if getattr(module, "y_channel", False) else 3) if module is not None else None
        channels = self.hparams.bank_channels or trains_on or 3
        if trains_on is not None and channels != trains_on:
            raise DatasetError(f"--data.bank_channels {channels}: {type(module).__name__} trains on "
                               f"{'Y' if trains_on == 1 else 'RGB'} ({trains_on} channel{'s' * (trains_on > 1)})")
        rows = sum(bank_rows(patches, stride))
        size = rows * (patches.patch_size**2 + (patches.patch_size // self.scale) ** 2) * channels
        if self.hparams.bank is None and self._bank_from_checkpoint is None and size > _DEFAULT_BANK_LIMIT:
            rank_zero_info(f"sr_zoo: no patch bank ({rows} sub-images would take {size / 2**30:.1f} GiB; "
                           "--data.bank true makes it): cutting patches per item")
            return patches
        folder = open_bank(patches, stride, channels, self.bank_dir,
                           progress=self.trainer is None or self.trainer.is_global_zero)
        rank_zero_info(f"sr_zoo: patch bank of {rows} {'Y' if channels == 1 else 'RGB'} sub-images "
                       f"(LR stride {stride}, {size / 2**20:.1f} MB): {folder}")
        return BankDataset(folder, len(patches), augment=self.augment)

    def _srseg_selection(self, records: list[Record]) -> list[Record]:
        from sr_zoo.data.coco_selection import select_background_images

        selected, counts = select_background_images(
            records, records[0].label.parent.parent, self.hparams.coco_stuff_per_class, self.progress.seed,
            self.hparams.coco_stuff_min_background, progress=self.trainer is None or self.trainer.is_global_zero)
        rank_zero_info(f"sr_zoo: coco-stuff: {len(selected)} of {len(records)} images selected (SRSEG 3.4: "
                       + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")")
        if not selected:
            raise DatasetError(f"{records[0].label.parent}: no COCO-Stuff image is dominated by the five background "
                               f"classes (coco_stuff_min_background={self.hparams.coco_stuff_min_background})")
        return selected

    @property
    def eval_degradation(self) -> tuple[str, float]:
        """The degradation (and blur) of validation/test LR images."""
        if self.hparams.eval_degradation == "train":
            return self.degradation, self.blur_sigma
        return "bicubic", self.blur_sigma

    def _benchmarks(self, specs: list[str], role: str) -> list[BenchmarkDataset]:
        """The named or given test sets; a missing one is fetched or is an error, never replaced."""
        sets = []
        for spec in specs:
            if spec.lower().startswith("paired:"):  # real LR/HR pairs: scored on their own LR
                sets.append(BenchmarkDataset.paired(spec, self.eval_scale))
                continue
            folder = resolve_benchmark(spec, self.root, download=self.hparams.download)
            name = display_name(spec) if is_test_set_name(spec) else "demo" if spec.lower() == "demo" else None
            sets.append(BenchmarkDataset(folder, self.eval_scale, name=name, degradation=self.eval_degradation))
        return sets

    def _benchmark_loader(self, dataset: BenchmarkDataset) -> DataLoader:
        # One image per batch: benchmark images differ in size.
        return DataLoader(dataset, batch_size=1, num_workers=0, collate_fn=_collate_one)


def default_workers(trainer: L.Trainer | None) -> int:
    """Training loader workers when none are asked for: 0 on the CPU (or without a trainer), whose cores the
    model's threads already fill (fsrcnn_x3 on a 2-core CPU, 2 threads: 0 workers 0.80 of a bare loop's
    samples/s, 1 worker 0.69, 2 workers 0.61-0.77: ``benchmarks/training_speed.py``); on an accelerator, whose
    compute leaves the CPU free, ``min(4, CPUs)``."""
    if trainer is None or trainer.strategy.root_device.type == "cpu":
        return 0
    return min(4, os.cpu_count() or 1)


def _default_bank_dir(root: Path) -> Path:
    """``root/banks`` if it can be written (or ``root`` does not exist yet), else the user's cache."""
    folder = root / "banks"
    if os.access(folder if folder.is_dir() else root, os.W_OK) or not root.exists():
        return folder
    return user_cache() / "banks"


def _collate_one(items: list[dict]) -> dict:
    (item,) = items
    return {key: [value] if isinstance(value, str) else value[None] for key, value in item.items()}


def _default_val_sets(root: Path) -> list[str]:
    """Without a ``val`` list: Set5 and Set14 where they are already under ``root``, else the bundled demo
    photos (nothing is fetched for a default; a named set asked for is fetched or an error)."""
    present = []
    for name in ("set5", "set14"):
        try:
            resolve_benchmark(name, root, download=False)
        except DatasetError:
            continue
        present.append(name)
    return present or ["demo"]


def _present(root: Path, name: str) -> bool:
    """Whether a named dataset already looks present under ``root`` (any of its accepted layouts)."""
    try:
        resolve_source(name, root)
    except DatasetError:
        return False
    return True

