"""Weights in the Hugging Face Hub's format: ``save_pretrained(model, folder)`` writes ``config.json`` (what
rebuilds the network) and ``model.safetensors`` (its weights); ``from_pretrained`` rebuilds the model from
such a folder or from a Hub repository ``owner/name[@revision]`` (downloaded with ``huggingface_hub``,
the ``sr-zoo[hub]`` extra). ``shipped_to_hub`` writes the zoo's shipped weights so, with a model card.

The weights are those of ``model.net``, the inference network, as the shipped ``.pt`` files hold: the rest
of a LightningModule (discriminators, metrics) plays no part in ``forward``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from sr_zoo import __version__
from sr_zoo.errors import SRZooError, WeightsError, one_line
from sr_zoo.files.atomic import write_atomically
from sr_zoo.files.download import OFFLINE_ENV, offline
from sr_zoo.models._registry import TRAINING_ONLY_HPARAMS, create_model, first_mismatch, model_info, saved_hparams

if TYPE_CHECKING:
    from sr_zoo.models.base import SRModule

__all__ = ["CONFIG_FILE", "FORMAT", "WEIGHTS_FILE", "from_pretrained", "save_pretrained", "shipped_to_hub"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = 1
"""The version of ``config.json``'s layout; a later sr_zoo may write a higher one, which this one refuses."""

_REPO_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[\w./-]+))?$")
_SKIPPED = {"scale", *TRAINING_ONLY_HPARAMS}  # scale is its own field; how a fit started is spent: the weights are here
_HINT = f"a folder written by save_pretrained holds {CONFIG_FILE} and {WEIGHTS_FILE}"


# ---------------------------------------------------------------------------------------------- writing
def save_pretrained(model: SRModule, directory: str | os.PathLike, metadata: dict[str, Any] | None = None,
                    model_card: str | None = None) -> Path:
    """Write ``model`` to ``directory`` (created if needed) as ``config.json`` + ``model.safetensors``
    (and ``README.md`` if ``model_card`` is given); returns the folder.

    ``metadata`` (JSON) is kept in ``config.json`` for people and tools (scores, the command that made
    the weights); loading ignores it. Each file is replaced atomically, the weights first; other files in
    the folder are left as they are (a cloned Hub repository keeps its ``.git``)."""
    from safetensors.torch import save_file

    name = getattr(model, "model_name", "")
    if not name or not hasattr(model, "net"):
        raise SRZooError(f"save_pretrained: a {type(model).__name__} is not a zoo model (no model_name or net); "
                         "build it with sr_zoo.models.create_model")
    if model.eval_scale != model.scale:  # CSRCNN part-way through its curriculum: the top levels are off
        raise SRZooError(f"save_pretrained: {name} upscales by x{model.eval_scale} now, not its x{model.scale} "
                         "(a curriculum stage); finish training or save the checkpoint instead")
    config = {"format": FORMAT, "library": "sr_zoo", "sr_zoo_version": __version__, "model": name,
              "scale": int(model.scale), "hparams": _hparams(model)}
    if metadata:
        config["metadata"] = metadata
    try:
        text = json.dumps(config, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise SRZooError(f"save_pretrained: metadata cannot be written as JSON ({one_line(exc)})") from None
    tensors = {key: value.detach().cpu().clone(memory_format=torch.contiguous_format)
               for key, value in model.net.state_dict().items()}
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SRZooError(f"{folder}: cannot create the folder ({exc.strerror or exc})") from None

    def failed(path: Path) -> Any:
        return lambda reason: SRZooError(f"{path}: cannot be written ({reason})")

    weights, config_path = folder / WEIGHTS_FILE, folder / CONFIG_FILE
    write_atomically(weights, lambda tmp: save_file(tensors, tmp, metadata={"format": "pt"}), failed(weights))
    write_atomically(config_path, lambda tmp: Path(tmp).write_text(text), failed(config_path))
    if model_card is not None:
        card = folder / "README.md"
        write_atomically(card, lambda tmp: Path(tmp).write_text(model_card), failed(card))
    return folder


def _hparams(model: SRModule) -> dict[str, Any]:
    """The hyper-parameters that rebuild ``model``: Lightning's private keys, ``scale`` and how a fit started
    (``init_from``, ``finetune``) left out; one line for a value JSON cannot hold (the rebuilt network could
    otherwise differ)."""
    kept = {}
    for key, value in dict(getattr(model, "hparams", {})).items():
        if str(key).startswith("_") or key in _SKIPPED:
            continue
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise SRZooError(f"save_pretrained: hyper-parameter {key!r} of {model.model_name} is a "
                             f"{type(value).__name__}, which {CONFIG_FILE} cannot hold") from None
        kept[str(key)] = value
    return kept


# ---------------------------------------------------------------------------------------------- reading
def from_pretrained(source: str | os.PathLike, **overrides: Any) -> SRModule:
    """The model saved in ``source``, in eval mode: a folder written by :func:`save_pretrained`, or (if no
    such path exists) a Hub repository ``owner/name`` or ``owner/name@revision``, fetched into the Hugging
    Face cache (only read from it when ``SR_ZOO_OFFLINE`` is set). ``overrides`` replace saved
    hyper-parameters (training ones such as ``lr``; those that shape the network must match the weights).
    Every problem is one ``SRZooError`` line naming the file."""
    config_path, weights_path = _locate(source)
    name, scale, hparams = _read_config(config_path)
    if "scale" in overrides and overrides.pop("scale") != scale:
        raise SRZooError(f"{config_path}: these weights are for x{scale}; the scale cannot be overridden")
    try:
        model = create_model(name, scale, **{**saved_hparams(model_info(name).builder, hparams), **overrides})
    except SRZooError as exc:  # an unknown model, a scale it cannot do
        raise SRZooError(f"{config_path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SRZooError(f"{config_path}: its hyper-parameters do not fit {name} ({one_line(exc)})") from None
    state = _read_weights(weights_path)
    try:
        model.net.load_state_dict(state)  # strict: every key, every shape
    except RuntimeError as exc:
        raise SRZooError(f"{weights_path}: weights do not fit {name} x{scale} ({first_mismatch(exc)})") from None
    return model.eval()


def _locate(source: str | os.PathLike) -> tuple[Path, Path]:
    """``(config.json, model.safetensors)`` of a local folder, or downloaded from the Hub."""
    path = Path(source)
    if path.exists():
        if not path.is_dir():
            raise SRZooError(f"{path}: not a folder; pass the folder itself ({_HINT})")
        return path / CONFIG_FILE, path / WEIGHTS_FILE
    match = _REPO_ID.match(str(source)) if isinstance(source, str) else None
    if match is None:
        raise SRZooError(f"{source}: no such folder, and not a Hugging Face Hub repository id "
                         "(owner/name or owner/name@revision)")
    return _download(str(source), match["repo"], match["revision"])


def _download(source: str, repo: str, revision: str | None) -> tuple[Path, Path]:
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.utils import (
            EntryNotFoundError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:
        raise SRZooError(f'{source}: no such folder; fetching it from the Hugging Face Hub needs huggingface_hub: '
                         'pip install "sr-zoo[hub]"') from None
    cache_only = offline()
    # huggingface_hub reads HF_ENDPOINT once, at its import; read it here too, so a later setting counts.
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/") or None
    paths = []
    for filename in (CONFIG_FILE, WEIGHTS_FILE):
        where = f"{source}: {filename}"
        try:
            paths.append(Path(hf_hub_download(repo, filename, revision=revision, local_files_only=cache_only,
                                              endpoint=endpoint, library_name="sr_zoo",
                                              library_version=__version__)))
        except LocalEntryNotFoundError as exc:  # not in the cache, and offline or the request failed
            if cache_only:
                raise WeightsError(f"{where} is not in the Hugging Face cache and {OFFLINE_ENV}=1 forbids "
                                   "downloading; fetch it once online, or pass a local folder") from None
            raise WeightsError(f"{where} could not be fetched from the Hugging Face Hub and is not in its "
                               f"cache ({_hub_reason(exc.__cause__ or exc)})") from None
        except RepositoryNotFoundError:  # a gated repository too
            raise WeightsError(f"{source}: no such repository on the Hugging Face Hub (or it is private or gated: "
                               "log in with `hf auth login`)") from None
        except RevisionNotFoundError:
            raise WeightsError(f"{source}: the repository has no revision {revision!r}") from None
        except EntryNotFoundError:
            raise WeightsError(f"{source}: the repository has no {filename}; {_HINT}") from None
        except (OSError, ValueError) as exc:  # its other HTTP errors are OSErrors, a malformed id a ValueError
            raise WeightsError(f"{where} could not be fetched from the Hugging Face Hub ({_hub_reason(exc)})") from None
    return paths[0], paths[1]


def _hub_reason(exc: BaseException) -> str:
    """huggingface_hub's error in a few words: its first line (the rest is request ids and URLs)."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return one_line(text if len(text) < 240 else text[:240] + " ...")


def _read_config(path: Path) -> tuple[str, int, dict[str, Any]]:
    """``(model name, scale, hyper-parameters)`` from ``config.json``; one line for anything else."""
    if not path.is_file():
        raise SRZooError(f"{path}: not found; {_HINT}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SRZooError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SRZooError(f"{path}: cannot be read ({one_line(exc)})") from None
    if not isinstance(config, dict):
        raise SRZooError(f"{path}: not an sr_zoo config (a JSON {type(config).__name__}, not an object)")
    version, name, scale = config.get("format"), config.get("model"), config.get("scale")
    hparams = config.get("hparams", {})
    if isinstance(version, bool) or not isinstance(version, int):
        raise SRZooError(f"{path}: not an sr_zoo config (its format is {version!r}, not a number)")
    if version > FORMAT:
        raise SRZooError(f"{path}: written in format {version} by a newer sr_zoo; this one ({__version__}) "
                         f"reads format {FORMAT}: upgrade sr_zoo")
    if not isinstance(name, str) or not name:
        raise SRZooError(f"{path}: not an sr_zoo config (its model is {name!r}, not a name)")
    if isinstance(scale, bool) or not isinstance(scale, int):
        raise SRZooError(f"{path}: not an sr_zoo config (its scale is {scale!r}, not an integer)")
    if not isinstance(hparams, dict):
        raise SRZooError(f"{path}: not an sr_zoo config (its hparams is a JSON {type(hparams).__name__})")
    return name, scale, hparams


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of ``model.safetensors``, all finite; one line for anything else."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise SRZooError(f"{path}: not found; {_HINT}")
    try:
        state = load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise SRZooError(f"{path}: not a readable safetensors file ({one_line(exc)})") from None
    floating = [t for t in state.values() if t.is_floating_point()]
    bad = sum(int((~torch.isfinite(t)).sum()) for t in floating)
    if bad:
        total = sum(t.numel() for t in floating)
        raise SRZooError(f"{path}: {bad} of {total} weights are NaN or infinite (diverged or damaged weights); "
                         "the model would output garbage")
    return state


# ---------------------------------------------------------------------------------------------- shipped
def shipped_to_hub(key: str, out: str | os.PathLike, owner: str = "OWNER") -> Path:
    """Write the shipped weights ``key`` (``fsrcnn_x4``) to ``out/<key>/`` in the Hub's format, with the
    manifest's scores, command and machine in ``config.json`` and a model card as ``README.md`` (whose
    example loads ``<owner>/<key>``)."""
    from sr_zoo.models.pretrained import manifest

    entries = manifest()
    if key not in entries:
        raise SRZooError(f"no shipped weights {key!r} (available: {', '.join(sorted(entries)) or 'none'})")
    entry = entries[key]
    name, scale = key.rsplit("_x", 1)
    model = create_model(name, int(scale), pretrained=True)
    metadata = {k: entry[k] for k in ("scores", "command", "machine", "iterations", "parameters") if k in entry}
    metadata["converted_from"] = {"file": entry.get("file", entry.get("url")), "sha256": entry["sha256"]}
    return save_pretrained(model, Path(out) / key, metadata, _model_card(name, int(scale), entry, f"{owner}/{key}"))


def _model_card(name: str, scale: int, entry: dict[str, Any], repo: str) -> str:
    """A short ``README.md`` for the Hub: what the model is, its scores and the command that made it."""
    source = entry.get("file", entry.get("url", "?"))
    rows = "\n".join(f"| {set_name} | {s['psnr']:.2f} | {s['ssim']:.4f} |"
                     for set_name, s in sorted(entry.get("scores", {}).items(), key=lambda kv: kv[0] != "Set5"))
    return f"""---
library_name: sr-zoo
license: mit
pipeline_tag: image-to-image
tags:
- super-resolution
- sr-zoo
- {name}
---

# {name} x{scale} (sr_zoo)

{model_info(name).paper}, trained by sr_zoo (`pip install "sr-zoo[hub]"`) for x{scale}
single-image super-resolution: {entry.get('parameters', '?')} parameters, {entry.get('iterations', '?')} training
iterations.

| test set | PSNR (dB, Y) | SSIM (Y) |
|---|---|---|
{rows}

Scored as the papers' tables are: LR made by MATLAB's bicubic `imresize`, output rounded to 8 bits, PSNR and
SSIM on the Y channel of MATLAB's YCbCr with {scale} border pixels cropped.

Trained and scored by `{entry.get('command', '?')}` ({entry.get('machine', '?')}); converted from
the zoo's `{source}` (sha256 `{entry['sha256'][:12]}`) by `python benchmarks/convert_to_hub.py OUT`.

```python
from sr_zoo.models import from_pretrained

model = from_pretrained("{repo}")  # eval mode; model(lr) takes RGB in [0, 1], (N, 3, h, w)
```
"""
