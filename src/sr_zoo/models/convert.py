"""The SRCNN and FSRCNN authors' released weights (MATLAB ``.mat``) as zoo checkpoints.

The authors' test code (SRCNN.m, FSRCNN.m, deconv.m) defines what each array means: a k x k filter is a
column reshaped column-major (MATLAB's ``reshape``) and applied as a correlation (``imfilter``) with
replicate padding; FSRCNN's PReLU has one slope per layer, and its last layer is deconv.m's transposed
convolution. ``convert_mat`` maps every array onto ``model.net`` of ``srcnn`` (any f1-f2-f3, n1, n2) or
``fsrcnn`` (any d-s-m) built with that padding (``padding_mode="replicate"``, the deconvolution centred),
checking that each array is used once and each parameter filled; ``sr-zoo convert`` is its command.
"""

from __future__ import annotations

import io
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from sr_zoo.errors import SRZooError, one_line

__all__ = ["convert_mat", "read_mat", "scale_from_name"]

_SRCNN_KEYS = {f"{kind}_conv{i}" for kind in ("weights", "biases") for i in (1, 2, 3)}
_FSRCNN_KEYS = {"weights_conv", "biases_conv", "prelu_conv"}


def read_mat(source: str | os.PathLike | bytes, name: str | None = None) -> dict[str, Any]:
    """The arrays of a MATLAB ``.mat`` file (a path, or its bytes with ``name`` for messages), by name;
    one line for a file scipy cannot read (missing, truncated, not a .mat, MATLAB v7.3/HDF5)."""
    from scipy.io import loadmat

    label = name or str(source)
    try:
        if isinstance(source, bytes):
            data = loadmat(io.BytesIO(source))
        else:
            path = Path(source)
            if not path.is_file():
                raise SRZooError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
            data = loadmat(str(path))
    except NotImplementedError:  # scipy's word for MATLAB v7.3 (HDF5)
        raise SRZooError(f"{label}: a MATLAB v7.3 (HDF5) file, which scipy cannot read; save it in MATLAB with "
                         "save(..., '-v7') and convert that") from None
    except SRZooError:
        raise
    except (ValueError, TypeError, OSError, EOFError, KeyError, IndexError) as exc:
        raise SRZooError(f"{label}: not a readable MATLAB .mat file ({one_line(exc)})") from None
    return {k: v for k, v in data.items() if not k.startswith("__")}


def scale_from_name(path: str | os.PathLike) -> int | None:
    """The factor a released file's name gives (``x3.mat``, ``FSRCNN_x3.mat``, ``9-1-5_91_x3.mat``), or None."""
    found = set(re.findall(r"(?:^|[^a-z0-9])x(\d+)(?=$|[^0-9])", Path(path).stem.lower()))
    return int(found.pop()) if len(found) == 1 else None


def _detect(arrays: dict[str, Any], label: str) -> str:
    keys = set(arrays)
    if _SRCNN_KEYS <= keys:
        return "srcnn"
    if _FSRCNN_KEYS <= keys:
        return "fsrcnn"
    raise SRZooError(f"{label}: not an SRCNN or FSRCNN weight file of the authors' test code (it holds "
                     f"{', '.join(sorted(keys)) or 'no arrays'}; SRCNN's are {', '.join(sorted(_SRCNN_KEYS))}, "
                     f"FSRCNN's {', '.join(sorted(_FSRCNN_KEYS))})")


def _side(n: int, what: str, label: str) -> int:
    """The side of a square filter stored as a column of ``n`` values."""
    side = math.isqrt(n)
    if side * side != n or side % 2 == 0:
        raise SRZooError(f"{label}: {what} holds filters of {n} values, not an odd square (k x k)")
    return side


def _filters(array: np.ndarray, what: str, label: str) -> np.ndarray:
    """``(in, k*k, out)`` as the authors' code indexes it (``w(j, :, i)``: input j to output i) -> torch's
    ``(out, in, k, k)``; each column reshaped column-major (MATLAB ``reshape``), applied as a correlation."""
    if array.ndim == 2:  # MATLAB drops a trailing singleton: (in, k*k) for one output
        array = array[:, :, None]
    if array.ndim != 3:
        raise SRZooError(f"{label}: {what} has shape {array.shape}, not (inputs, k*k, outputs)")
    cin, taps, cout = array.shape
    k = _side(taps, what, label)
    return array.reshape(cin, k, k, cout, order="F").transpose(3, 0, 1, 2)


def _vector(array: np.ndarray, n: int, what: str, label: str) -> np.ndarray:
    if array.size != n:
        raise SRZooError(f"{label}: {what} has {array.size} values where the layer has {n} outputs")
    return array.reshape(n)


def _srcnn(arrays: dict[str, Any], label: str) -> tuple[dict[str, Any], dict[str, np.ndarray], list[str]]:
    w1 = np.asarray(arrays["weights_conv1"], dtype=np.float64)  # (f1*f1, n1): one input channel
    if w1.ndim != 2:
        raise SRZooError(f"{label}: weights_conv1 has shape {w1.shape}, not (f1*f1, n1)")
    conv1 = _filters(w1[None], "weights_conv1", label)
    conv2 = _filters(np.asarray(arrays["weights_conv2"], dtype=np.float64), "weights_conv2", label)
    w3 = np.asarray(arrays["weights_conv3"], dtype=np.float64)  # (n2, f3*f3): one output channel
    if w3.ndim != 2:
        raise SRZooError(f"{label}: weights_conv3 has shape {w3.shape}, not (n2, f3*f3)")
    conv3 = _filters(w3[:, :, None], "weights_conv3", label)
    n1, n2 = conv1.shape[0], conv2.shape[0]
    if conv2.shape[1] != n1 or conv3.shape[1] != n2:
        raise SRZooError(f"{label}: the layers do not chain (conv1 gives {n1} maps, conv2 takes {conv2.shape[1]} "
                         f"and gives {n2}, conv3 takes {conv3.shape[1]})")
    hparams = {"f1": conv1.shape[-1], "f2": conv2.shape[-1], "f3": conv3.shape[-1], "n1": n1, "n2": n2}
    weights = {
        "features.weight": conv1, "features.bias": _vector(arrays["biases_conv1"], n1, "biases_conv1", label),
        "mapping.weight": conv2, "mapping.bias": _vector(arrays["biases_conv2"], n2, "biases_conv2", label),
        "reconstruction.weight": conv3,
        "reconstruction.bias": _vector(arrays["biases_conv3"], 1, "biases_conv3", label),
    }
    return hparams, weights, sorted(_SRCNN_KEYS)


def _cells(arrays: dict[str, Any], key: str) -> list[np.ndarray]:
    cell = arrays[key]
    items = list(cell.ravel()) if isinstance(cell, np.ndarray) and cell.dtype == object else [cell]
    return [np.asarray(item, dtype=np.float64) for item in items]


def _fsrcnn(arrays: dict[str, Any], label: str) -> tuple[dict[str, Any], dict[str, np.ndarray], list[str]]:
    weights_c, biases_c, prelu_c = (_cells(arrays, k) for k in ("weights_conv", "biases_conv", "prelu_conv"))
    layers = len(weights_c)
    if layers < 4 or len(biases_c) != layers:
        raise SRZooError(f"{label}: {layers} weights_conv and {len(biases_c)} biases_conv cells; FSRCNN has "
                         "feature, shrinking, m >= 1 mapping, expanding and deconvolution layers, a bias each")
    used: list[str] = []
    weights: dict[str, np.ndarray] = {}
    convs = []
    for i in range(layers - 1):  # FSRCNN.m: weights_conv{i} is (in, k*k, out), a PReLU after each
        conv = _filters(weights_c[i], f"weights_conv{{{i + 1}}}", label)
        convs.append(conv)
        prefix = f"body.{i}"
        weights[f"{prefix}.0.weight"] = conv
        weights[f"{prefix}.0.bias"] = _vector(biases_c[i], conv.shape[0], f"biases_conv{{{i + 1}}}", label)
        if i >= len(prelu_c) or prelu_c[i].size != 1:
            raise SRZooError(f"{label}: prelu_conv{{{i + 1}}} should be one slope (the layer's PReLU)")
        weights[f"{prefix}.1.weight"] = np.full(conv.shape[0], float(prelu_c[i].reshape(())))  # channel-shared
        used += [f"weights_conv{{{i + 1}}}", f"biases_conv{{{i + 1}}}", f"prelu_conv{{{i + 1}}}"]
    extra = [f"prelu_conv{{{i + 1}}}" for i in range(layers - 1, len(prelu_c)) if prelu_c[i].size]
    if extra:  # the authors' files hold an empty slope cell for the deconvolution, which has no PReLU
        raise SRZooError(f"{label}: {extra[0]} holds values, but FSRCNN's deconvolution has no PReLU")
    last = weights_c[-1]  # FSRCNN.m: (1, k*k, in), filter of input i = w(1, :, i)
    if last.ndim == 2:
        last = last[None]
    if last.ndim != 3 or last.shape[0] != 1:
        raise SRZooError(f"{label}: weights_conv{{{layers}}} has shape {last.shape}, not (1, k*k, maps)")
    k = _side(last.shape[1], f"weights_conv{{{layers}}}", label)
    # deconv.m adds each input pixel times the filter (no flip): ConvTranspose2d's (in, out, k, k).
    weights["deconv.weight"] = last[0].reshape(k, k, -1, order="F").transpose(2, 0, 1)[:, None]
    weights["deconv.bias"] = _vector(biases_c[-1], 1, f"biases_conv{{{layers}}}", label)
    used += [f"weights_conv{{{layers}}}", f"biases_conv{{{layers}}}"]
    d, s = convs[0].shape[0], convs[1].shape[0]
    shapes = {"feature": (convs[0].shape, (d, 1, 5, 5)), "shrinking": (convs[1].shape, (s, d, 1, 1)),
              "expanding": (convs[-1].shape, (d, s, 1, 1)), "deconvolution": ((last.shape[2], k), (d, 9))}
    shapes.update({f"mapping {j}": (c.shape, (s, s, 3, 3)) for j, c in enumerate(convs[2:-1], 1)})
    for what, (got, want) in shapes.items():
        if tuple(got) != want:
            raise SRZooError(f"{label}: the {what} layer is {tuple(got)}, where the zoo's FSRCNN (d={d}, s={s}) "
                             f"has {want}")
    return {"d": d, "s": s, "m": layers - 4}, weights, used


def convert_mat(path: str | os.PathLike | bytes, model: str | None = None, scale: int | None = None,
                name: str | None = None) -> dict[str, Any]:
    """A zoo checkpoint (``create_model(checkpoint=)``, ``--ckpt``) of the authors' ``.mat`` file ``path``
    (or its bytes, named ``name``): model and variant from the arrays, scale from the file name unless
    given. One ``SRZooError`` line for a file of another network, an array left over or a parameter unfilled."""
    import torch

    from sr_zoo.models._registry import check_scale, create_model

    label = name or str(path)
    arrays = read_mat(path, name)
    found = _detect(arrays, label)
    if model is not None and model != found:
        raise SRZooError(f"{label}: holds {found.upper()} weights, not {model.upper()} (--model {model})")
    if scale is None:
        scale = scale_from_name(name or str(path))
        if scale is None:
            raise SRZooError(f"{label}: its name does not say the scale (x2, x3, x4 ...); pass it (--scale)")
    check_scale(found, scale)
    hparams, weights, used = (_srcnn if found == "srcnn" else _fsrcnn)(arrays, label)
    left = sorted(set(arrays) - (_SRCNN_KEYS if found == "srcnn" else _FSRCNN_KEYS))
    if left:
        raise SRZooError(f"{label}: array {left[0]!r} is not part of {found.upper()}; nothing of it would be used")
    zoo = create_model(found, scale, padding_mode="replicate", **hparams)
    state = zoo.net.state_dict()
    unfilled = sorted(set(state) - set(weights))
    if unfilled:
        raise SRZooError(f"{label}: nothing in the file fills {found}'s parameter {unfilled[0]}")
    for key, value in weights.items():
        if tuple(value.shape) != tuple(state[key].shape):
            raise SRZooError(f"{label}: {key} would be {tuple(value.shape)}, the network's is "
                             f"{tuple(state[key].shape)}")
    zoo.net.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)).to(state[k].dtype)
                             for k, v in weights.items()})
    return {
        "state_dict": zoo.state_dict(),
        "hyper_parameters": dict(zoo.hparams),
        "sr_zoo": {"model": found, "scale": int(scale)},
        "converted_from": {"file": Path(label).name, "arrays": used},
    }
