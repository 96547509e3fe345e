"""VGG16 weights for the perceptual loss: fetched into the torch cache from a server on 127.0.0.1,
checked against the SHA-256 prefix in the file name, and one line when they cannot be had."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import torch

from sr_zoo.data.download import DatasetSpec, RemoteFile, ensure_dataset
from sr_zoo.errors import DatasetError, WeightsError
from sr_zoo.files.download import cached_download as cached_weights
from sr_zoo.losses import vgg16_state_dict


def _weights_file(folder: Path, state: dict, tamper: bool = False) -> str:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    name = f"vgg16-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    (folder / name).write_bytes(data + (b"x" if tamper else b""))
    return name


def test_weights_are_fetched_into_the_torch_cache_once(served: tuple[Path, str], tmp_path: Path) -> None:
    folder, base = served
    name = _weights_file(folder, {"w": torch.arange(3.0)})
    state = vgg16_state_dict(base + name)
    assert torch.equal(state["w"], torch.arange(3.0))
    cached = tmp_path / "hub" / "checkpoints" / name
    assert cached.is_file()
    (folder / name).unlink()  # the second use needs no server
    assert torch.equal(vgg16_state_dict(base + name)["w"], torch.arange(3.0))


def test_a_file_failing_its_checksum_is_refused_and_not_kept(served: tuple[Path, str], tmp_path: Path) -> None:
    folder, base = served
    name = _weights_file(folder, {"w": torch.ones(2)}, tamper=True)
    mismatch = r"download failed .*sha256 mismatch: expected [0-9a-f]{8}\.\.\., got"
    with pytest.raises(WeightsError, match=mismatch) as error:
        cached_weights(base + name, "VGG16 ImageNet weights")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "hub" / "checkpoints" / name).exists()
    assert list((tmp_path / "hub" / "checkpoints").iterdir()) == []  # no partial download left


def test_missing_weights_offline_say_which_file_where(served: tuple[Path, str], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = served
    monkeypatch.setenv("SR_ZOO_OFFLINE", "1")
    expected = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
    with pytest.raises(WeightsError) as error:
        vgg16_state_dict(base + "vgg16-397923af.pth")
    message = str(error.value)
    assert message.startswith(f"{expected}: VGG16 ImageNet weights (for the perceptual loss) not found")
    assert f"download {base}vgg16-397923af.pth to {expected}" in message and "\n" not in message


def test_an_unreachable_server_is_one_line(served: tuple[Path, str]) -> None:
    with pytest.raises(WeightsError, match="download failed"):
        cached_weights("http://127.0.0.1:9/vgg16-12345678.pth", "VGG16 ImageNet weights")


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_every_download_reads_the_offline_switch_the_same_way(value: str, served: tuple[Path, str], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder, base = served
    name = _weights_file(folder, {"w": torch.ones(1)})
    monkeypatch.setenv("SR_ZOO_OFFLINE", value)
    with pytest.raises(WeightsError, match="SR_ZOO_OFFLINE=1 forbids downloading"):
        cached_weights(base + name, "VGG16 ImageNet weights")
    spec = DatasetSpec("tiny", (RemoteFile(base + name, None, name),), ("x",), "x")
    with pytest.raises(DatasetError, match="SR_ZOO_OFFLINE is set"):
        ensure_dataset(spec, tmp_path / "data")
    assert not (tmp_path / "hub" / "checkpoints" / name).exists()
