"""SRDataModule and PatchDataset: layouts, recipes, exact alignment, bad input, DDP sharding."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from helpers.paths import shared_set
from helpers.standins import position_image, source_coordinates, write_rgb
from sr_zoo.data import EvalBatch, PatchDataset, SRDataModule, TrainBatch, degrade, resolve_source
from sr_zoo.data.patches import _to_tensor
from sr_zoo.data.sources import Record, resolve_benchmark
from sr_zoo.errors import DatasetError
from sr_zoo.ops import imresize, quantize


def view_crops(ds: PatchDataset, view, rng: np.random.Generator | None = None) -> dict[str, torch.Tensor]:  # noqa: ANN001
    """The crops of one view as the dataset serves them (float CHW tensors)."""
    return {k: _to_tensor(np.stack(v)) if k in ("hr", "lr") else v for k, v in ds._crops(view, rng).items()}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_patches_are_aligned_crops_on_the_lr_grid(tmp_path: Path, scale: int) -> None:
    write_rgb(tmp_path / "pos.png", position_image(120, 100))
    ds = PatchDataset([Record(tmp_path / "pos.png")], scale, 12 * scale, augment=True, crops_per_image=8)
    for _ in range(5):
        item = ds[0]
        assert item["hr"].shape == (8, 3, 12 * scale, 12 * scale) and item["lr"].shape == (8, 3, 12, 12)
        for hr, lr in zip(item["hr"], item["lr"]):
            ys, xs = source_coordinates(hr)
            # A D4 transform of a contiguous square block whose corner lies on the LR grid.
            assert ys.max() - ys.min() == xs.max() - xs.min() == 12 * scale - 1
            assert ys.min() % scale == 0 and xs.min() % scale == 0
            assert len(set(zip(ys.ravel(), xs.ravel()))) == (12 * scale) ** 2
            assert torch.allclose(lr, quantize(imresize(hr[None], scale=1 / scale))[0], atol=1e-6)


@pytest.mark.parametrize("scale", [2, 3])
def test_lr_from_image_is_the_whole_images_lr_cut_with_the_hr(tmp_path: Path, scale: int) -> None:
    """``lr_from_image`` (the EMTCM/FSRCNN recipe): each LR crop is the same region of MATLAB bicubic of the whole
    image cropped to a multiple of the scale (here 101x70 -> 99x69 at x3), under every offline rotation, flip
    and scale; the HR crop stays aligned on the LR grid."""
    image = position_image(101, 70)
    write_rgb(tmp_path / "pos.png", image)
    ds = PatchDataset([Record(tmp_path / "pos.png")], scale, 8 * scale, offline_rotations=(0, 1, 2, 3),
                      offline_scales=(1.0, 0.7), augment=True, crops_per_image=6, lr_from_image=True)
    h, w = 101 - 101 % scale, 70 - 70 % scale
    whole = torch.from_numpy(image[:h, :w]).permute(2, 0, 1).float()[None] / 255
    whole_lr = quantize(imresize(whole, scale=1 / scale))[0]
    # Where each HR pixel's colour came from (position image) -> the LR pixel that holds its block.
    for view in ds.views:
        item = view_crops(ds, view, np.random.default_rng(view.rotation))
        for hr, lr in zip(item["hr"], item["lr"]):
            if view.scale_index:  # a downscaled version: the LR is the bicubic of that version's HR
                continue
            ys, xs = source_coordinates(hr)
            assert ys.min() % scale == 0 and xs.min() % scale == 0
            centre = (slice(scale // 2, None, scale), slice(scale // 2, None, scale))
            src = (ys[centre] // scale, xs[centre] // scale)
            assert torch.equal(lr, whole_lr[:, src[0], src[1]])
    assert {v.scale_index for v in ds.views} == {0, 1} and all(v.height % scale == 0 for v in ds.views)


def test_without_augmentation_patches_keep_orientation(tmp_path: Path) -> None:
    write_rgb(tmp_path / "pos.png", position_image(64, 80))
    ds = PatchDataset([Record(tmp_path / "pos.png")], 2, 16, augment=False)
    ys, xs = source_coordinates(ds[0]["hr"][0])
    assert (np.diff(ys, axis=0) == 1).all() and (np.diff(xs, axis=1) == 1).all()


def test_offline_rotations_and_scales_make_views(tmp_path: Path) -> None:
    write_rgb(tmp_path / "a.png", position_image(100, 60))
    ds = PatchDataset([Record(tmp_path / "a.png")], 2, 40, offline_scales=(1.0, 0.9, 0.6),
                      offline_rotations=(0, 1, 2, 3), augment=False)
    # 0.6 x 60 = 36 < 40: that scale is skipped for every rotation, 8 views are left.
    assert len(ds.views) == 8
    rotated = [v for v in ds.views if v.rotation == 1 and v.scale_index == 0]
    assert (rotated[0].height, rotated[0].width) == (60, 100)
    ys, xs = source_coordinates(view_crops(ds, rotated[0])["hr"][0])
    assert (np.diff(xs, axis=0) == -1).all() and (np.diff(ys, axis=1) == 1).all()  # np.rot90: counter-clockwise


def test_subimage_tiling(tmp_path: Path) -> None:
    write_rgb(tmp_path / "a.png", np.zeros((500, 900, 3), np.uint8))
    ds = PatchDataset([Record(tmp_path / "a.png")], 4, 128, subimage=400, subimage_stride=200)
    # rows: 0, 100 (last flush); columns: 0, 200, 400, 500
    assert sorted({(v.top, v.left) for v in ds.views}) == [(t, c) for t in (0, 100) for c in (0, 200, 400, 500)]


def test_gaussian_bicubic_degradation_matches_opencv_blur() -> None:
    hr = torch.rand(1, 3, 48, 48)
    blurred = cv2.GaussianBlur(hr[0].permute(1, 2, 0).numpy(), (7, 7), 1.0, borderType=cv2.BORDER_REPLICATE)
    expected = imresize(torch.from_numpy(blurred).permute(2, 0, 1)[None], scale=1 / 4)
    got = degrade(hr, 4, "gaussian-bicubic", blur_sigma=1.0, quantize_8bit=False)
    assert torch.allclose(got, expected.clamp(0, 1), atol=1e-5)
    assert not torch.allclose(got, degrade(hr, 4, "bicubic", quantize_8bit=False), atol=1e-3)


def test_div2k_layout_uses_official_lr(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    root = tmp_path / "DIV2K"
    for stem in ("0001", "0002"):
        hr = rng.integers(0, 256, (96, 120, 3), dtype=np.uint8)
        write_rgb(root / "DIV2K_train_HR" / f"{stem}.png", hr)
        # A marked LR file (not the bicubic of the HR) shows that the file is what is served.
        write_rgb(root / "DIV2K_train_LR_bicubic" / "X2" / f"{stem}x2.png", np.full((48, 60, 3), 7, np.uint8))
    name, records, _ = resolve_source("div2k", tmp_path, scale=2)
    assert name == "div2k" and [r.hr.name for r in records] == ["0001.png", "0002.png"]
    assert all(r.lr is not None and r.lr.name == f"{r.hr.stem}x2.png" for r in records)
    dm = SRDataModule(train=["div2k"], val=[], scale=2, patch_size=32, batch_size=4, num_workers=0, root=str(tmp_path))
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert torch.all(torch.round(batch["lr"] * 255) == 7)
    _, records, _ = resolve_source("div2k", tmp_path, scale=3)  # no X3 folder: LR is made on the fly
    assert all(r.lr is None for r in records)


def test_batches_have_documented_shapes_and_ranges(tmp_path: Path) -> None:
    dm = SRDataModule(scale=3, batch_size=8, num_workers=0, root=str(tmp_path), val=["demo"])
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["hr"].shape == (8, 3, 72, 72) and batch["lr"].shape == (8, 3, 24, 24)
    # Where the batch sits in the data stream: epoch 0, items 0-7 of 64 batches x 8 (the 64-batch minimum).
    assert batch.pop("position").tolist() == [0, 8, 512]
    assert set(batch) == TrainBatch.__required_keys__  # no labels: the required keys only
    for t in batch.values():
        assert t.dtype == torch.float32 and 0 <= t.min() and t.max() <= 1
    assert dm.val_names == ["demo"]
    val = next(iter(dm.val_dataloader()[0]))
    assert val["hr"].shape[-1] == 3 * val["lr"].shape[-1]
    assert set(val) == EvalBatch.__required_keys__ and isinstance(val["name"], list)


def test_demo_is_the_default_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dm = SRDataModule(num_workers=0, root=str(tmp_path))
    with caplog.at_level("INFO"), pytest.warns(UserWarning, match="set5, set14 not found"):
        dm.setup("fit")
    assert "demo photos bundled with scikit-image" in caplog.text
    assert len(dm.train_set.records) == 10
    assert dm.val_names == ["demo"]  # Set5/Set14 absent under the root: warned and replaced


def test_bad_training_files_are_skipped_with_one_warning(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    write_rgb(folder / "good.png", position_image(64, 64))
    write_rgb(folder / "gray.png", np.full((64, 64), 90, np.uint8))
    write_rgb(folder / "small.png", position_image(10, 10))
    rgba = np.concatenate([position_image(64, 64), np.full((64, 64, 1), 255, np.uint8)], axis=-1)
    cv2.imwrite(str(folder / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    cv2.imwrite(str(folder / "deep.png"), (position_image(64, 64).astype(np.uint16) * 257))
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.bmp").write_bytes(b"BM not really")
    with pytest.warns(UserWarning) as record:
        ds = PatchDataset(resolve_source(str(folder), tmp_path)[1], 2, 32)
    messages = [str(w.message) for w in record]
    assert any("skipped 2 unreadable training image(s)" in m for m in messages)
    assert any("skipped 1 image version(s) smaller than the 32x32 patch" in m for m in messages)
    assert sorted(Path(r.hr).name for r in ds.records) == sorted(
        ["corrupt.bmp", "deep.png", "empty.png", "good.png", "gray.png", "rgba.png", "small.png"]
    )
    assert len(ds.views) == 4  # good, gray, rgba, deep
    for i in range(len(ds.views)):
        item = ds[i]
        assert item["hr"].shape == (1, 3, 32, 32)
    gray = next(i for i, v in enumerate(ds.views) if ds.records[v.record].hr.name == "gray.png")
    assert torch.all(torch.round(ds[gray]["hr"] * 255) == 90)  # grayscale replicated to RGB


def test_truncated_file_found_mid_epoch_is_skipped(tmp_path: Path) -> None:
    write_rgb(tmp_path / "a.bmp", position_image(64, 64))
    write_rgb(tmp_path / "b.bmp", position_image(64, 64))
    data = (tmp_path / "b.bmp").read_bytes()
    (tmp_path / "b.bmp").write_bytes(data[: len(data) // 2])  # header fine, pixels missing
    ds = PatchDataset([Record(tmp_path / "a.bmp"), Record(tmp_path / "b.bmp")], 2, 32)
    with pytest.warns(UserWarning, match=r"b\.bmp: cannot decode"):
        item = ds[1]
    assert item["hr"].shape == (1, 3, 32, 32)
    assert str(tmp_path / "b.bmp") in ds.skipped


def test_all_images_too_small_is_an_error(tmp_path: Path) -> None:
    write_rgb(tmp_path / "t.png", position_image(20, 20))
    with pytest.raises(DatasetError, match=r"no training image is at least 48x48"), pytest.warns(UserWarning):
        PatchDataset([Record(tmp_path / "t.png")], 4, 48)


def test_missing_named_dataset_offline_names_folder_and_layout(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"dataset 't91' not found; expected .*T91/"):
        resolve_source("t91", tmp_path)
    with pytest.raises(DatasetError, match=r"dataset 'div2k' not found; expected DIV2K_train_HR/0001.png"):
        resolve_source("div2k", tmp_path)
    with pytest.raises(DatasetError, match="no such directory"):
        resolve_source(str(tmp_path / "nowhere"), tmp_path)
    with pytest.raises(DatasetError, match="patch_size 50 is not a multiple of the scale 4"):
        SRDataModule(train=["demo"], scale=4, patch_size=50, root=str(tmp_path)).setup("fit")


def test_real_t91_and_general100_load() -> None:
    root = shared_set("T91").parent
    shared_set("General100")
    for name, count in (("t91", 91), ("general100", 100)):
        assert len(resolve_source(name, root)[1]) == count
    dm = SRDataModule(train=["t91", "general100"], val=["set5"], recipe="emtcm", scale=3, num_workers=0, root=str(root),
                      bank=False)  # random crops: the views are counted here (a bank would be written under root)
    dm.setup("fit")
    assert len(dm.train_set.records) == 191
    # EMTCM: 20 versions per image (5 scales x 4 rotations) minus those below the 48x48 patch.
    assert 191 * 20 - 40 < len(dm.train_set.views) <= 191 * 20
    batch = next(iter(dm.train_dataloader()))
    assert batch["hr"].shape == (16, 3, 48, 48)
    assert dm.val_names == ["Set5"]


def test_general100_by_name_as_validation(tmp_path: Path) -> None:
    """A training set held out for validation by name (issue 27: General-100 beside the 91-image recipes)."""
    root = shared_set("General100").parent
    assert resolve_benchmark("general100", root) == root / "General100"
    dm = SRDataModule(train=["demo"], val=["general100"], scale=3, num_workers=0, root=str(root))
    dm.setup("validate")
    assert dm.val_names == ["General100"] and len(dm.val_sets[0]) == 100
    with pytest.raises(DatasetError, match=r"dataset 'general100' not found"):
        resolve_benchmark("general100", tmp_path)


def _coco_stuff_standin(root: Path, ext: str = ".jpg") -> dict[int, int]:
    """COCO 2017 + stuffthingmaps layout: blocks of 32x32 px cycle through the six SRSEG classes.

    The image encodes position and class: R = y, G = x, B = 40 * class. Returns class -> raw id.
    """
    from sr_zoo.data.coco_stuff import srseg_lookup_table

    table = srseg_lookup_table()
    raw_id = {c: int(np.flatnonzero(table[:182] == c)[0]) for c in range(6)}
    y, x = np.mgrid[0:96, 0:112]
    cls = ((y // 32) + (x // 32)) % 6
    image = np.stack([y, x, 40 * cls], axis=-1).astype(np.uint8)
    labels = np.vectorize(raw_id.get)(cls).astype(np.uint8)
    for stem in ("000000000009", "000000000025"):
        write_rgb(root / "coco-stuff" / "train2017" / f"{stem}{ext}", image)
        cv2.imwrite(str(root / "coco-stuff" / "stuffthingmaps_trainval2017" / "train2017" / f"{stem}.png"), labels)
    write_rgb(root / "coco-stuff" / "train2017" / f"000000000030{ext}", image)  # no label map
    return raw_id


def test_coco_stuff_labels_and_masks_align_after_augmentation(tmp_path: Path) -> None:
    from sr_zoo.data.coco_stuff import boundary_mask

    (tmp_path / "coco-stuff" / "stuffthingmaps_trainval2017" / "train2017").mkdir(parents=True)
    _coco_stuff_standin(tmp_path, ext=".png")  # lossless, so the image's B channel is the class
    dm = SRDataModule(train=["coco-stuff"], val=[], recipe="srseg", batch_size=8, crops_per_image=4,
                      num_workers=0, root=str(tmp_path))
    with pytest.warns(UserWarning, match=r"skipped 1 image\(s\) without a label map, e.g. .*000000000030"):
        dm.setup("fit")
    assert dm.patch_size == 84 and dm.scale == 4
    for _ in range(3):
        batch = next(iter(dm.train_dataloader()))
        assert batch["hr"].shape == (8, 3, 84, 84) and batch["lr"].shape == (8, 3, 21, 21)
        assert batch["label"].shape == (8, 21, 21) and batch["label"].dtype == torch.int64
        assert batch["label_hr"].shape == (8, 84, 84) and batch["boundary_mask"].dtype == torch.bool
        cls_from_image = torch.round(batch["hr"][:, 2] * 255 / 40).long()
        assert torch.equal(cls_from_image, batch["label_hr"])  # labels follow every flip and rotation
        assert torch.equal(batch["label"], batch["label_hr"][:, 2::4, 2::4])
        assert torch.equal(batch["boundary_mask"], boundary_mask(batch["label"], 2))
        assert 0 < batch["boundary_mask"].float().mean() < 1
    # The batch is a TrainBatch with every optional key (the stream position is removed before a model sees it).
    assert set(batch) - {"position"} == set(TrainBatch.__required_keys__ | TrainBatch.__optional_keys__)
    assert TrainBatch.__optional_keys__ == {"label", "label_hr", "boundary_mask"}


def test_coco_stuff_real_layout_with_jpegs(tmp_path: Path) -> None:
    (tmp_path / "coco-stuff" / "stuffthingmaps_trainval2017" / "train2017").mkdir(parents=True)
    _coco_stuff_standin(tmp_path)
    name, records, unlabeled = resolve_source("coco-stuff", tmp_path)
    assert name == "coco-stuff" and len(records) == 2 and [p.name for p in unlabeled] == ["000000000030.jpg"]
    ds = PatchDataset(records, 4, 84, augment=False)
    item = ds[0]
    assert 1 < len(item["label_hr"].unique()) and set(item["label_hr"].unique().tolist()) <= set(range(6))


@pytest.mark.parametrize(
    "recipe,scale,batch,hr,degradation",
    [
        ("none", 4, 8, 96, "bicubic"),
        ("emtcm", 3, 8, 48, "bicubic"),
        ("csrcnn", 2, 8, 64, "bicubic"),
        ("msfmgan", 4, 8, 128, "gaussian-bicubic"),
    ],
)
def test_every_recipe_serves_documented_batches(
    tmp_path: Path, recipe: str, scale: int, batch: int, hr: int, degradation: str
) -> None:
    rng = np.random.default_rng(1)
    for stem in ("0001", "0002"):
        pixels = rng.integers(0, 256, (300, 420, 3), dtype=np.uint8)
        write_rgb(tmp_path / "div2k" / "DIV2K_train_HR" / f"{stem}.png", pixels)
    dm = SRDataModule(train=["div2k"], val=[], recipe=recipe, scale=scale, batch_size=batch, num_workers=0,
                      root=str(tmp_path))
    dm.setup("fit")
    assert dm.patch_size == hr and dm.degradation == degradation
    b = next(iter(dm.train_dataloader()))
    assert set(b) == {"hr", "lr", "position"}
    assert b["hr"].shape == (batch, 3, hr, hr) and b["lr"].shape == (batch, 3, hr // scale, hr // scale)
    assert b["hr"].dtype == b["lr"].dtype == torch.float32
    assert 0 <= b["lr"].min() and b["lr"].max() <= 1
    expected = degrade(b["hr"], scale, degradation, dm.blur_sigma)
    if dm.recipe.lr_from_image:  # the whole image's LR, cut: the same away from the crop's border
        inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
        assert (b["lr"] - expected)[inner].abs().max() < 0.01 and not torch.allclose(b["lr"], expected, atol=1e-6)
    else:
        assert torch.allclose(b["lr"], expected, atol=1e-6)  # LR is the recipe's degradation of the same crop


def test_configurable_from_lightning_cli(tmp_path: Path) -> None:
    import lightning as L
    from lightning.pytorch.cli import LightningCLI

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()

    cli = LightningCLI(
        Tiny, SRDataModule, run=False,
        args=["--data.train=[t91, folder:/x]", "--data.scale=3", "--data.recipe=emtcm", f"--data.root={tmp_path}",
              "--data.batch_size=32", "--data.augment=false", "--data.degradation=gaussian-bicubic"],
    )
    dm = cli.datamodule
    assert dm.train_sources == ["t91", "folder:/x"] and dm.scale == 3 and dm.recipe.name == "emtcm"
    assert dm.hparams.batch_size == 32 and dm.augment is False and dm.degradation == "gaussian-bicubic"
    assert dm.patch_size == 48  # the EMTCM recipe's 16x16 LR patch at x3


def test_official_lr_follows_offline_rotations(tmp_path: Path) -> None:
    hr = position_image(48, 64)
    write_rgb(tmp_path / "div2k" / "DIV2K_train_HR" / "0001.png", hr)
    lr = quantize(imresize(torch.from_numpy(hr).permute(2, 0, 1).float()[None] / 255, scale=0.5))[0]
    write_rgb(tmp_path / "div2k" / "DIV2K_train_LR_bicubic" / "X2" / "0001x2.png",
              (lr.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    records = resolve_source("div2k", tmp_path, scale=2)[1]
    ds = PatchDataset(records, 2, 16, offline_rotations=(0, 1, 2, 3), augment=False, crops_per_image=4)
    for view in ds.views:
        item = view_crops(ds, view)
        assert "lr" in item  # the official file is used under every rotation
        for hr_crop, lr_crop in zip(item["hr"], item["lr"]):
            # The official LR crop is the bicubic LR of the same HR crop (to the 8-bit rounding and borders).
            inner = (slice(None), slice(2, -2), slice(2, -2))
            assert (lr_crop - quantize(imresize(hr_crop[None], scale=0.5))[0])[inner].abs().max() < 0.02


def test_the_first_time_marks_leave_no_folder_unless_used(tmp_path: Path) -> None:
    """A dataset creates no temporary folder; the folder of its once-per-file warnings appears with the first
    mark and goes when its process ends (``_remove``, run at exit)."""
    write_rgb(tmp_path / "a.png", position_image(40, 40))
    ds = PatchDataset([Record(tmp_path / "a.png")], 2, 16)
    folder = Path(ds._warned.folder)
    assert not folder.exists()
    assert ds._warned.first("x") and not ds._warned.first("x") and ds._warned.first("y")
    assert folder.is_dir()
    ds._warned._remove()
    assert not folder.exists()
