"""Acceptance: first uses of the demo cache at once all succeed, leave nothing behind, normal modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sr_zoo.data.sources import DEMO_TRAIN, DEMO_VAL, DEMO_VAL_SIDE, demo_folder
from sr_zoo.errors import DatasetError

_FIRST_USE = """
import sys
from pathlib import Path
from sr_zoo.data import SRDataModule
dm = SRDataModule(val=["demo"], scale=2, num_workers=0, root=sys.argv[1])
dm.setup("fit")
print(len(dm.train_set.records), len(dm.val_sets[0]))
"""


def test_four_processes_on_an_empty_root_all_succeed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    procs = [subprocess.Popen([sys.executable, "-c", _FIRST_USE, str(root)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, out, err in results:
        assert code == 0, err[-2000:]
        assert out.split() == [str(len(DEMO_TRAIN)), str(len(DEMO_VAL))]
    demo = root / "demo"
    assert sorted(p.name for p in demo.iterdir()) == [".lock", "train", "val192"]  # no .train-*/.val-* leftovers
    umask = os.umask(0)
    os.umask(umask)
    for folder in (demo, demo / "train", demo / "val192"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask
    assert sorted(p.stem for p in (demo / "train").iterdir()) == sorted(DEMO_TRAIN)


def test_an_incomplete_demo_folder_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "demo" / "val192"
    folder.mkdir(parents=True)
    (folder / "chelsea.png").write_bytes(b"partial")
    assert demo_folder(tmp_path, "val") == folder
    assert sorted(p.stem for p in folder.iterdir()) == sorted(DEMO_VAL)


def test_the_demo_validates_on_central_crops_of_its_photos(tmp_path: Path) -> None:
    from skimage import data as photos

    from sr_zoo.files.images import read_image

    folder = demo_folder(tmp_path, "val")
    camera = read_image(folder / "camera.png")  # 512x512 grey: its rows 160-351, columns 160-351
    assert camera.shape[-2:] == (DEMO_VAL_SIDE, DEMO_VAL_SIDE) == (192, 192)
    expected = torch.from_numpy(photos.camera()[160:352, 160:352].copy()).float() / 255
    assert torch.equal(camera[0], expected)
    chelsea = read_image(folder / "chelsea.png")  # 300x451: rows 54-245, columns 129-320
    assert torch.equal(chelsea[0], torch.from_numpy(photos.chelsea()[54:246, 129:321, 0].copy()).float() / 255)


def test_an_unwritable_root_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sr_zoo.files.atomic as sources  # where the demo folder is built

    def refuse(parent: Path, prefix: str) -> Path:  # what mkdtemp does in a read-only folder (root ignores modes)
        raise PermissionError(13, "Permission denied", str(parent))

    monkeypatch.setattr(sources, "make_temp_dir", refuse)
    message = r"demo/val192: cannot create the demo data here: Permission denied"
    with pytest.raises(DatasetError, match=message) as error:
        demo_folder(tmp_path / "sub", "val")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "sub" / "demo" / "val192").exists()
