"""Export a zoo model to ONNX or TorchScript, and run the exported file as a zoo model.

The exported graph is the whole model as ``forward`` is: RGB ``(N, 3, H, W)`` float32 in [0, 1] to RGB
``(N, 3, sH, sW)`` in [0, 1] (a Y-channel network's colour conversion and bicubic CbCr included), with
dynamic batch, height and width. What the graph cannot hold travels as metadata (``sr_zoo`` JSON: model,
scale, receptive radius, tile alignment, the small-input padding) and ``ExportedModel`` applies it, so an
exported file tiles, pads tiny inputs and takes grey images exactly as the eager model does.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from sr_zoo.errors import SRZooError
from sr_zoo.ops.padding import run_padded

__all__ = ["EXPORT_FORMATS", "ONNX_OPSET", "ExportedModel", "export_model", "export_metadata", "parity"]

EXPORT_FORMATS = ("onnx", "torchscript")
# Opset 17 runs in ONNX Runtime >= 1.12, TensorRT >= 8.6 and OpenVINO >= 2022.3, and has every op the zoo uses.
ONNX_OPSET = 17
# Traced at odd sides that are not multiples of 4, so that every size-dependent step (CSRCNN's and the MSFM
# generator's padding to a multiple of 4, the crops) is recorded in its general form.
_EXAMPLE_SIZE = (37, 29)
_METADATA_KEY = "sr_zoo"


def export_metadata(model: nn.Module, radius: int | None = None) -> dict[str, Any]:
    """What ``ExportedModel`` needs beside the graph: name, scale, receptive radius (measured unless given),
    alignment, padding."""
    from sr_zoo import __version__
    from sr_zoo.inference.tiling import receptive_radius

    return {
        "model": getattr(model, "model_name", type(model).__name__),
        "scale": int(model.scale),
        "receptive_radius": int(receptive_radius(model, int(model.scale)) if radius is None else radius),
        "tile_align": int(getattr(getattr(model, "net", model), "tile_align", 1)),
        "min_input_side": int(getattr(model, "min_input_side", 0)),
        "small_input_pad": int(getattr(model, "small_input_pad", 0)),
        "sr_zoo_version": __version__,
    }


def export_model(model: nn.Module, path: str | Path, format: str = "onnx", opset: int = ONNX_OPSET,
                 radius: int | None = None) -> Path:
    """Write ``model`` (a zoo model) to ``path`` as ``format`` ('onnx' or 'torchscript'); returns the path.

    Both trace ``model.forward`` once (``torch.jit.trace``; ONNX through torch's TorchScript-based exporter,
    which exports every zoo model in about a second and targets opset 17) and write the file atomically.
    ``radius``: the model's receptive radius if already measured (``sr_zoo.inference.tiling.receptive_radius``).
    """
    from sr_zoo.files.atomic import write_atomically

    if format not in EXPORT_FORMATS:
        raise SRZooError(f"--format: {format!r} is not one of {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    was_training = model.training
    model.eval()
    meta = export_metadata(model, radius)
    example = torch.rand(1, 3, *_EXAMPLE_SIZE, generator=torch.Generator().manual_seed(0))
    example = example.to(next(model.parameters(), example).device)
    try:
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            # The tracer warns of every Python int taken from a shape; sizes stay symbolic where it matters,
            # and the parity checks (tests/inference/test_export.py, --check) are what proves the graph.
            warnings.simplefilter("ignore")
            if format == "onnx":
                data = _onnx_bytes(model, example, opset, meta)
            else:
                data = _torchscript_bytes(model, example, meta)
    finally:
        model.train(was_training)
    write_atomically(path, lambda tmp: Path(tmp).write_bytes(data),
                     lambda reason: SRZooError(f"{path}: not written ({reason}); an earlier file of that name is "
                                               "unchanged"))
    return path


def _onnx_bytes(model: nn.Module, example: Tensor, opset: int, meta: dict[str, Any]) -> bytes:
    try:
        import onnx
    except ImportError:
        raise SRZooError('ONNX export needs the onnx package: pip install "sr-zoo[export]"') from None
    buffer = io.BytesIO()
    dynamic = {"lr": {0: "batch", 2: "height", 3: "width"}, "sr": {0: "batch", 2: "out_height", 3: "out_width"}}
    torch.onnx.export(model, (example,), buffer, dynamo=False, opset_version=opset, input_names=["lr"],
                      output_names=["sr"], dynamic_axes=dynamic)
    graph = onnx.load_from_string(buffer.getvalue())
    entry = graph.metadata_props.add()
    entry.key, entry.value = _METADATA_KEY, json.dumps(meta)
    graph.doc_string = f"sr_zoo {meta['model']} x{meta['scale']}: RGB in [0, 1], (N, 3, H, W) -> (N, 3, sH, sW)"
    return graph.SerializeToString()


def _torchscript_bytes(model: nn.Module, example: Tensor, meta: dict[str, Any]) -> bytes:
    if hasattr(model, "to_torchscript"):  # a LightningModule: its own tracer hides the Trainer it is not attached to
        traced = model.to_torchscript(method="trace", example_inputs=example, check_trace=False)
    else:
        traced = torch.jit.trace(model, example, check_trace=False)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={f"{_METADATA_KEY}.json": json.dumps(meta)})
    return buffer.getvalue()


class ExportedModel:
    """An exported zoo model (``.onnx`` through ONNX Runtime, else TorchScript) called like the eager one.

    ``model(lr)`` takes ``(N, C, h, w)`` in [0, 1] with 1 or 3 channels and returns ``(N, C, sh, sw)``; sides
    shorter than the model's ``min_input_side`` are padded as ``SRModule.forward`` pads them. ``scale``,
    ``receptive_radius`` and ``tile_align`` come from the file, so ``sr_zoo.inference.upscale`` tiles it
    with the same tiled == whole guarantee as the eager model.
    """

    def __init__(self, path: str | Path, device: str | torch.device = "cpu", threads: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SRZooError(f"{self.path}: no such exported model")
        self.device = torch.device(device)
        self.is_onnx = self.path.suffix.lower() == ".onnx"
        meta = self._load_onnx(threads) if self.is_onnx else self._load_torchscript()
        try:
            self.model_name = str(meta["model"])
            self.scale = int(meta["scale"])
            self.receptive_radius = int(meta["receptive_radius"])
            self.tile_align = int(meta["tile_align"])
            self.min_input_side = int(meta["min_input_side"])
            self.small_input_pad = int(meta["small_input_pad"])
        except (KeyError, TypeError, ValueError):
            raise SRZooError(f"{self.path}: its sr_zoo metadata is incomplete (not written by sr-zoo export)") from None

    def _load_onnx(self, threads: int | None) -> dict[str, Any]:
        try:
            import onnxruntime as ort
        except ImportError:
            raise SRZooError('running an .onnx model needs onnxruntime: pip install "sr-zoo[export]"') from None
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        if self.device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own classes, all of them for a file it cannot read
            raise SRZooError(f"{self.path}: not a readable ONNX model ({str(exc).splitlines()[0][:200]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map.get(_METADATA_KEY)
        return self._parse(meta)

    def _load_torchscript(self) -> dict[str, Any]:
        extra = {f"{_METADATA_KEY}.json": ""}
        try:
            with warnings.catch_warnings():  # torch deprecates TorchScript for torch.export; the format is asked for
                warnings.filterwarnings("ignore", "`torch.jit.load` is deprecated", FutureWarning)
                self.module = torch.jit.load(str(self.path), map_location=self.device, _extra_files=extra).eval()
        except RuntimeError as exc:
            raise SRZooError(f"{self.path}: not a readable TorchScript model ({str(exc).splitlines()[0][:200]})") \
                from None
        return self._parse(extra[f"{_METADATA_KEY}.json"] or None)

    def _parse(self, text: str | bytes | None) -> dict[str, Any]:
        if not text:
            raise SRZooError(f"{self.path}: no sr_zoo metadata (not written by sr-zoo export)")
        try:
            return json.loads(text)
        except ValueError:
            raise SRZooError(f"{self.path}: its sr_zoo metadata is not JSON") from None

    def __call__(self, lr: Tensor) -> Tensor:
        gray = lr.shape[1] == 1  # the graph takes RGB: grey in as three equal channels, out as their mean
        sr = run_padded(self._run, lr.expand(-1, 3, -1, -1) if gray else lr, self.min_input_side, self.small_input_pad)
        return sr.mean(dim=1, keepdim=True) if gray else sr

    def _run(self, x: Tensor) -> Tensor:
        if not self.is_onnx:
            with torch.no_grad():
                return self.module(x.to(self.device, torch.float32))
        out = self.session.run(None, {"lr": x.detach().to("cpu", torch.float32).contiguous().numpy()})[0]
        return torch.from_numpy(out).to(x.device)

    def __repr__(self) -> str:
        kind = "ONNX" if self.is_onnx else "TorchScript"
        return f"ExportedModel({kind} {self.model_name} x{self.scale}, {self.path})"


def parity(exported: ExportedModel, model: nn.Module, image: Tensor) -> float:
    """Largest absolute difference between the exported and the eager model on ``image`` (``(1, C, h, w)``)."""
    model.eval()
    with torch.no_grad():
        eager = model(image)
    return float((exported(image).to(eager.device) - eager).abs().max())
