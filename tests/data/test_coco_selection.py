"""SRSEG's COCO-Stuff selection (3.4): images dominated by the five background classes, capped per class,
drawn with the seed, the label statistics computed once and cached next to the dataset."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sr_zoo.data import SRDataModule
from sr_zoo.data.coco_selection import CACHE_NAME, select_background_images
from sr_zoo.data.coco_stuff import srseg_lookup_table
from sr_zoo.data.sources import coco_stuff_records

# (name, {SRSEG class: share of pixels}); 6 is COCO-Stuff's "unlabeled" (255), not counted.
IMAGES = [
    *[(f"sky{i}", {0: 0.8, 5: 0.2}) for i in range(5)],  # sky-dominated
    *[(f"ground{i}", {1: 0.6, 5: 0.4}) for i in range(3)],
    ("water0", {4: 0.3, 3: 0.25, 5: 0.45}),  # background 0.55 >= 0.5, largest background class: water
    ("other0", {5: 0.9, 0: 0.1}),  # "other" dominates: out
    ("mixed0", {0: 0.4, 5: 0.6}),  # background 0.4 < 0.5: out
    ("sky_unlabeled", {0: 0.3, 5: 0.1, 6: 0.6}),  # 0.3 of 0.4 labelled pixels are sky: in (sky)
]


def _write(root: Path) -> Path:
    table = srseg_lookup_table()
    raw = {c: int(np.flatnonzero(table[:182] == c)[0]) for c in range(6)} | {6: 255}
    images = root / "coco-stuff" / "train2017"
    labels = root / "coco-stuff" / "stuffthingmaps_trainval2017" / "train2017"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    for name, shares in IMAGES:
        flat = np.concatenate([np.full(round(share * 400), raw[c], np.uint8) for c, share in shares.items()])
        cv2.imwrite(str(labels / f"{name}.png"), flat[:400].reshape(20, 20))
        cv2.imwrite(str(images / f"{name}.png"), np.full((20, 20, 3), 128, np.uint8))
    return root


def test_selection_counts_and_cap(tmp_path: Path) -> None:
    records, _ = coco_stuff_records(_write(tmp_path))
    selected, counts = select_background_images(records, tmp_path / "coco-stuff", per_class=2, seed=0)
    assert counts == {"sky": 2, "ground": 2, "buildings": 0, "plants": 0, "water": 1}
    names = {r.hr.stem for r in selected}
    assert len(names) == 5 and "water0" in names
    assert not names & {"other0", "mixed0"}
    everything, counts = select_background_images(records, tmp_path / "coco-stuff", per_class=100, seed=0)
    assert counts["sky"] == 6  # five sky images and the mostly unlabelled one
    assert {r.hr.stem for r in everything} == {n for n, _ in IMAGES} - {"other0", "mixed0"}


def test_selection_is_deterministic_from_the_seed_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records, _ = coco_stuff_records(_write(tmp_path))
    first, _ = select_background_images(records, tmp_path / "coco-stuff", per_class=2, seed=0)
    assert (tmp_path / "coco-stuff" / CACHE_NAME).is_file()

    def no_reading(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the label maps were read again")

    monkeypatch.setattr(cv2, "imread", no_reading)
    again, _ = select_background_images(records, tmp_path / "coco-stuff", per_class=2, seed=0)
    assert again == first
    others = [select_background_images(records, tmp_path / "coco-stuff", per_class=2, seed=s)[0] for s in range(1, 6)]
    assert any(o != first for o in others)  # C(6, 2) x C(3, 2) draws: another seed picks others


def test_datamodule_trains_on_the_selection(tmp_path: Path) -> None:
    _write(tmp_path)
    dm = SRDataModule(train=["coco-stuff"], val=[], scale=4, recipe="srseg", patch_size=16, batch_size=2,
                      num_workers=0, root=str(tmp_path), seed=0, coco_stuff_per_class=2)
    dm.setup("fit")
    assert len({r.hr for r in dm.train_set.records}) == 5
    dm_all = SRDataModule(train=["coco-stuff"], val=[], scale=4, recipe="srseg", patch_size=16, batch_size=2,
                          num_workers=0, root=str(tmp_path), seed=0)
    dm_all.setup("fit")
    assert len(dm_all.train_set.records) == len(IMAGES)
