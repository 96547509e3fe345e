"""Inference speed against this machine's limit: each zoo model's counted FLOPs and its time in eager
float32, ``channels_last``, ``torch.compile``, bf16 and ONNX Runtime, as a share of a large 3x3
convolution's measured FLOP/s.

The peak is a 64->64 3x3 convolution on 256x256 maps, batch 1 and the largest batch asked for, run by torch
in both memory layouts and by ONNX Runtime, in fp32 (on CUDA also TF32, and bf16/fp16 where a variant uses
them): the fastest in each precision is that precision's peak. Each (model, batch) group times its variants
in interleaved rounds (the order rotating) together with that peak convolution, so a row's achieved/peak
compares two figures taken under the same load. FLOPs are counted by ``torch.utils.flop_counter`` over the
whole forward (RGB in, RGB out: a Y-channel model's colour conversion and bicubic CbCr included) on a
meta-device copy in training mode, i.e. of the layers as defined, not of an inference form that multiplies
zeros too (``SubPixelDeconv``); ``net_gflops`` is ``model.net``'s part. ``max_diff`` is the largest absolute
difference from eager float32 (TF32 off on CUDA); ``exact`` says it is within ``--tolerance`` times the
network's largest output where that exceeds 1 (rounding grows with it: an untrained CSRCNN gives hundreds).
Models with shipped weights use them, the others are randomly initialised (seed 0: no timing depends on
it). ``limit``: one more call of each eager-module variant with every convolution timed, giving the share of
time outside convolutions and the convolution that loses the most time against the peak. SRGAN's and
SRSEG's inference network is SRResNet's generator: measured once, under SRResNet's name.

Run:  python benchmarks/inference_roofline.py [--device cpu|cuda] [--size 64] [--batch 1,auto]
      [--models csrcnn,srresnet,...] [--variants eager,channels_last,compile,bf16,onnxruntime]
      [--repeats 3] [--threads N] [--tolerance 1e-4] [--budget-s S] [--smoke] [--json PATH]
A variant may combine features with '+' (``channels_last+compile``, ``channels_last+bf16``, ``fp16``). Batch
``auto`` is the smallest power of two whose call is at least 10 GFLOP on CPU (500 on CUDA), at most 8
(64); a model whose one image already makes such a call gets no second batch. Default LR side: 64 on CPU
(the default run takes about 8 minutes on a shared 2-core CPU, compiles included), 128 on CUDA. On a CPU
that other processes share, ``--threads 1`` can be several times faster than two threads for the small
models (each parallel region waits for a descheduled thread). ``--smoke``: toy sizes, one repeat, compile
and ONNX Runtime for bicubic at batch 1 only (a check of the code paths, not a measurement).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from _common import sync
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from sr_zoo.models import create_model, list_models, model_info
from sr_zoo.models.pretrained import available_pretrained

VARIANTS = ("eager", "channels_last", "compile", "bf16", "onnxruntime")
FEATURES = ("channels_last", "compile", "bf16", "fp16")  # what a '+'-joined variant may combine
PEAK_CHANNELS, PEAK_SIDE = 64, 256
FILL_GFLOP = {"cpu": 10.0, "cuda": 500.0}  # a call this big keeps the machine busy (batch 'auto')
MAX_AUTO_BATCH = {"cpu": 8, "cuda": 64}


# ------------------------------------------------------------------ helpers
def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def default_scale(name: str) -> int:
    """x4, or the largest factor below it that the model takes."""
    scales = model_info(name).scales
    if scales is None or 4 in scales:
        return 4
    return max((s for s in scales if s < 4), default=min(scales))


def count_flops(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    """FLOPs of ``model``'s whole forward on an input of ``shape``, and of ``model.net``'s part: counted on a
    meta-device copy in training mode, i.e. of the layers as defined, not of a faster inference form that
    computes zeros too (``SubPixelDeconv``)."""
    meta = copy.deepcopy(model).to("meta").train()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        meta(torch.empty(shape, device="meta"))
    net = counter.get_flop_counts().get(f"{type(model).__name__}.net", {})
    return int(counter.get_total_flops()), int(sum(net.values()))


def reference_forward(model: nn.Module, lr: Tensor) -> tuple[Tensor, float]:
    """``model(lr)`` and the largest magnitude ``model.net`` gives (before the clamp to [0, 1])."""
    scale: list[float] = []
    hook = model.net.register_forward_hook(lambda m, a, out: scale.append(float(out.detach().abs().max())))
    try:
        with torch.no_grad():
            out = model(lr)
    finally:
        hook.remove()
    return out, max(scale, default=1.0)


def conv_flops(module: nn.Module, inputs: Tensor, output: Tensor) -> int:
    """2 x multiply-adds of a (transposed) convolution, as FlopCounterMode counts them."""
    k = math.prod(module.kernel_size)
    if isinstance(module, nn.ConvTranspose2d):  # every input pixel scatters Cout x k x k products
        return 2 * inputs.numel() * module.out_channels // module.groups * k
    return 2 * output.numel() * module.in_channels // module.groups * k


# ------------------------------------------------------------------ the peak
DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class PeakConv:
    """The reference: a 64->64 3x3 convolution on ``side`` x ``side`` maps, in a precision and layout, run by
    torch or (fp32, NCHW) by ONNX Runtime."""

    def __init__(self, device: torch.device, batch: int, side: int, precision: str, channels_last: bool,
                 runtime: str = "torch", threads: int | None = None) -> None:
        self.device, self.precision, self.channels_last, self.batch = device, precision, channels_last, batch
        self.runtime = runtime
        dtype = DTYPES[precision]
        gen = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(PEAK_CHANNELS, PEAK_CHANNELS, 3, padding=1).to(device, dtype)
        self.x = torch.rand(batch, PEAK_CHANNELS, side, side, generator=gen).to(device, dtype)
        if channels_last:
            self.conv = self.conv.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        self.flops = 2 * PEAK_CHANNELS * PEAK_CHANNELS * 9 * side * side * batch
        if runtime == "onnxruntime":
            self.session, self.feed = _onnx_session(self.conv.cpu().float(), self.x.cpu().float(), device, threads)

    @property
    def name(self) -> str:
        layout = "onnxruntime" if self.runtime == "onnxruntime" else "channels_last" if self.channels_last else "NCHW"
        return f"{self.precision} {layout} batch {self.batch}"

    def __call__(self) -> Any:
        if self.runtime == "onnxruntime":
            return self.session.run(None, self.feed)
        with torch.no_grad(), _tf32(self.precision == "tf32" if self.device.type == "cuda" else None):
            return self.conv(self.x)


def _onnx_session(module: nn.Module, example: Tensor, device: torch.device, threads: int | None) -> tuple[Any, dict]:
    """An ONNX Runtime session of ``module`` (exported as ``sr_zoo.inference.export`` does) and its feed."""
    import onnxruntime as ort

    buffer = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), buffer, dynamo=False, opset_version=17, input_names=["x"],
                          output_names=["y"])
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    providers = (["CUDAExecutionProvider"] if device.type == "cuda" else []) + ["CPUExecutionProvider"]
    session = ort.InferenceSession(buffer.getvalue(), options, providers=providers)
    return session, {"x": example.numpy()}


@contextlib.contextmanager
def _tf32(allow: bool | None):
    """cuDNN's TF32 switch set for the block (``None``: leave it)."""
    if allow is None:
        yield
        return
    old = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = allow
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = old


def time_calls(calls: dict[str, Callable[[], Any]], rounds: int, device: torch.device) -> dict[str, list[float]]:
    """Seconds of each call per round, the calls interleaved and their order rotated every round."""
    names = list(calls)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            sync(device)
            start = time.perf_counter()
            calls[name]()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return times


def measure_peaks(device: torch.device, batches: list[int], side: int, repeats: int, precisions: list[str],
                  onnxruntime: bool) -> tuple[list[dict[str, Any]], dict[str, PeakConv]]:
    """The reference convolution in each precision, layout (and ONNX Runtime, in fp32) and batch: GFLOP/s,
    median of ``repeats`` interleaved rounds; and the references by name."""
    refs = {}
    for precision in precisions:
        for batch in sorted({1, max(batches)}):
            runs = [("torch", False), ("torch", True)] + ([("onnxruntime", False)] if onnxruntime and
                                                          precision == "fp32" else [])
            for runtime, cl in runs:
                ref = PeakConv(device, batch, side, precision, cl, runtime, torch.get_num_threads())
                ref()  # warm-up
                refs[ref.name] = ref
    times = time_calls(refs, repeats, device)
    rows = [{"peak": ref.name, "precision": ref.precision, "runtime": ref.runtime, "channels_last": ref.channels_last,
             "batch": ref.batch, "side": side, "gflop": ref.flops / 1e9, "ms": statistics.median(times[n]) * 1e3,
             "gflops_per_s": ref.flops / statistics.median(times[n]) / 1e9} for n, ref in refs.items()]
    return rows, refs


def best_peaks(peaks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for p in peaks:
        if p["precision"] not in best or p["gflops_per_s"] > best[p["precision"]]["gflops_per_s"]:
            best[p["precision"]] = p
    return best


# ------------------------------------------------------------------ the variants
def bf16_unsupported(device: torch.device) -> str | None:
    """Why bf16 is not measured here, or None."""
    if device.type == "cuda":
        return None if torch.cuda.is_bf16_supported() else "this GPU has no bf16"
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "this CPU has no bf16 instructions (AVX512-BF16/AMX): oneDNN runs bf16 convolutions slower than fp32"
    return None


def fp16_unsupported(device: torch.device) -> str | None:
    if device.type == "cuda":
        return None
    if not torch.ops.mkldnn._is_mkldnn_fp16_supported():
        return "this CPU has no fp16 arithmetic (AVX512-FP16/AMX-FP16)"
    return None


def compile_unavailable(device: torch.device) -> str | None:
    if sys.platform == "win32":
        return "torch.compile: not on Windows"
    if device.type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return "torch.compile on CUDA needs triton (not installed)"
    return None


def onnxruntime_unavailable(device: torch.device) -> str | None:
    try:
        import onnx  # noqa: F401
        import onnxruntime as ort
    except ImportError as exc:
        return f"onnxruntime not installed ({exc.name})"
    if device.type == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
        return "onnxruntime here has no CUDAExecutionProvider (a CPU-only build)"
    return None


def peak_precision(variant: str, device: torch.device) -> str:
    """Which peak a variant's row compares against."""
    for precision in ("bf16", "fp16"):
        if precision in variant.split("+"):
            return precision
    return "tf32" if device.type == "cuda" and torch.backends.cudnn.allow_tf32 else "fp32"


def build_runner(variant: str, model: nn.Module, lr: Tensor, workdir: Path, threads: int
                 ) -> tuple[Callable[[], Tensor], dict[str, Any]]:
    """A no-argument call of ``variant`` on ``lr``, and what preparing it took (seconds)."""
    device = lr.device
    start = time.perf_counter()
    if variant == "onnxruntime":
        from sr_zoo.inference.export import ExportedModel, export_model

        path = workdir / f"{model.model_name}_x{model.scale}.onnx"
        if not path.is_file():
            # The receptive radius is only tiling's metadata, and CSRCNN's takes minutes to find: 0 here.
            export_model(copy.deepcopy(model).cpu(), path, "onnx", radius=0)
        exported = ExportedModel(path, device=device, threads=threads)
        feed = {"lr": lr.detach().cpu().contiguous().numpy()}
        session = exported.session

        def run() -> Tensor:  # the bare session: no torch<->numpy conversion in the timing
            return session.run(None, feed)[0]

        return run, {"prepare_s": time.perf_counter() - start, "to_tensor": lambda out: torch.from_numpy(out)}
    features = set(variant.split("+")) - {"eager"}
    unknown = features - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown variant feature(s) {sorted(unknown)}: choose from eager, onnxruntime, "
                         f"{', '.join(FEATURES)}")
    m = copy.deepcopy(model)
    x = lr
    if "channels_last" in features:
        m = m.to(memory_format=torch.channels_last)
    half = next((DTYPES[p] for p in ("bf16", "fp16") if p in features), None)
    autocast = (lambda: torch.autocast(device.type, dtype=half)) if half is not None else contextlib.nullcontext
    channels_last = "channels_last" in features

    def forward(inp: Tensor) -> Tensor:
        if channels_last:
            inp = inp.contiguous(memory_format=torch.channels_last)
        with autocast():
            return m(inp)

    if "compile" in features:
        fn = torch.compile(forward)
    else:
        fn = forward

    def run() -> Tensor:
        with torch.no_grad():
            return fn(x)

    info: dict[str, Any] = {"prepare_s": time.perf_counter() - start}
    if "compile" not in features:  # eager modules: the limit note's hooks see them
        info["modules"] = m
    return run, info


# ------------------------------------------------------------------ the limit note
def limit_note(model: nn.Module, run: Callable[[], Any], device: torch.device,
               peak_gflops: float) -> tuple[str, dict[str, Any]]:
    """One call of ``run`` with every convolution of ``model`` timed: the share of time outside
    convolutions, and the convolution whose time exceeds its FLOPs at the peak the most."""
    stats: dict[str, list[float]] = {}  # layer kind -> [seconds, flops, calls]
    starts: dict[int, float] = {}

    def pre(module: nn.Module, args: tuple) -> None:
        sync(device)
        starts[id(module)] = time.perf_counter()

    def post(module: nn.Module, args: tuple, output: Tensor) -> None:
        sync(device)
        seconds = time.perf_counter() - starts.pop(id(module))
        stride = f"/{module.stride[0]}" if module.stride[0] > 1 else ""
        kind = (f"{'deconv' if isinstance(module, nn.ConvTranspose2d) else 'conv'} {module.in_channels}->"
                f"{module.out_channels} {'x'.join(map(str, module.kernel_size))}{stride}"
                f" at {output.shape[-2]}x{output.shape[-1]}")
        entry = stats.setdefault(kind, [0.0, 0.0, 0])
        entry[0] += seconds
        entry[1] += conv_flops(module, args[0], output)
        entry[2] += 1

    handles = []
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    try:
        sync(device)
        start = time.perf_counter()
        run()
        sync(device)
        total = time.perf_counter() - start
    finally:
        for h in handles:
            h.remove()
    conv_s = sum(v[0] for v in stats.values())
    lost = {k: v[0] - v[1] / (peak_gflops * 1e9) for k, v in stats.items()}
    worst = max(lost, key=lost.get) if lost else None
    parts = [f"non-conv {100 * (total - conv_s) / total:.0f}%"]
    if worst is not None:
        s, f, n = stats[worst]
        parts.append(f"worst {worst}{f' (x{n})' if n > 1 else ''}: {100 * s / total:.0f}% of time at "
                     f"{f / s / 1e9:.3g} GFLOP/s")
    detail = {"total_s": total, "conv_s": conv_s,
              "convs": sorted(({"layer": k, "calls": v[2], "s": v[0], "gflop": v[1] / 1e9} for k, v in stats.items()),
                              key=lambda e: -e["s"])}
    return "; ".join(parts), detail


# ------------------------------------------------------------------ one (model, batch) group
ROW_KEYS = ("model", "scale", "batch", "size", "variant", "status", "gflops", "ms", "gflops_per_s", "peak",
            "peak_gflops_per_s", "pct_of_peak", "max_diff", "exact", "reason", "limit", "same_as", "net_gflops",
            "net_output_max", "weights", "prepare_s")


def measure_group(name: str, scale: int, model: nn.Module, batch: int, size: int, variants: list[str],
                  skip: dict[str, str], refs: dict[str, PeakConv], args: argparse.Namespace, device: torch.device,
                  workdir: Path, deadline: float | None) -> list[dict[str, Any]]:
    gen = torch.Generator().manual_seed(batch * 1000 + size)
    lr = torch.rand(batch, 3, size, size, generator=gen).to(device)
    with _tf32(False if device.type == "cuda" else None):  # the reference output: strict fp32
        reference, out_scale = reference_forward(model, lr)
    flops, net_flops = count_flops(model, tuple(lr.shape))
    tolerance = args.tolerance * max(1.0, out_scale)  # float rounding grows with an untrained net's outputs
    base = {"model": name, "scale": scale, "batch": batch, "size": size, "weights": model.weights,
            "gflops": flops / 1e9, "net_gflops": net_flops / 1e9, "net_output_max": out_scale}
    rows: dict[str, dict[str, Any]] = {}
    runners: dict[str, Callable[[], Any]] = {}
    hookable: dict[str, nn.Module] = {}
    if any("compile" in v.split("+") for v in variants):
        torch._dynamo.reset()  # once per group (each variant compiles its own code): no earlier model's graphs
    for variant in variants:
        row = dict.fromkeys(ROW_KEYS)  # every key in every row, in this order (benchmarks/gpu/summarize.py's table)
        row.update(base, variant=variant, peak=peak_precision(variant, device))
        rows[variant] = row
        reason = next((r for key, r in skip.items() if key in variant.split("+")), None)
        if reason is None and deadline is not None and time.monotonic() > deadline:
            reason = f"time budget ({args.budget_s:.0f} s) spent"
        if reason is not None:
            row.update(status="skipped", reason=reason)
            continue
        try:
            run, info = build_runner(variant, model, lr, workdir, torch.get_num_threads())
            start = time.perf_counter()
            out = run()  # warm-up (compiles, for compile)
            sync(device)
            first_s = time.perf_counter() - start
            out = info.get("to_tensor", lambda t: t)(out)
            row["max_diff"] = float((out.float().to(device) - reference).abs().max())
            row["exact"] = row["max_diff"] <= tolerance
            row["prepare_s"] = info["prepare_s"] + (first_s if "compile" in variant else 0.0)
            runners[variant] = run
            if "modules" in info:
                hookable[variant] = info["modules"]
            row["status"] = "ok"
        except Exception as exc:  # a variant that cannot run here is a row saying why, not the end of the run
            row.update(status="failed", reason=_one_line(exc))
    precisions = sorted({rows[v]["peak"] for v in runners})
    calls = {**runners, **{f"peak {p}": refs[p] for p in precisions}}
    if runners:
        times = time_calls(calls, args.repeats, device)
        peak_now = {p: refs[p].flops / statistics.median(times[f"peak {p}"]) / 1e9 for p in precisions}
        for variant in runners:
            row = rows[variant]
            seconds = statistics.median(times[variant])
            row["ms"] = seconds * 1e3
            row["gflops_per_s"] = flops / seconds / 1e9
            row["peak_gflops_per_s"] = peak_now[row["peak"]]
            row["pct_of_peak"] = 100 * row["gflops_per_s"] / row["peak_gflops_per_s"]
        for variant, modules in hookable.items():  # the variants that run eager modules: where their time goes
            note, detail = limit_note(modules, runners[variant], device, peak_now[rows[variant]["peak"]])
            rows[variant]["limit"], rows[variant]["limit_detail"] = note, detail
    return list(rows.values())


def _costly(variant: str) -> bool:
    """A variant that takes seconds to a minute to prepare (a compile, an export)."""
    return "compile" in variant.split("+") or variant == "onnxruntime"


def auto_batch(gflop_per_image: float, device: torch.device) -> int:
    batch = 1
    while batch * gflop_per_image < FILL_GFLOP[device.type] and batch < MAX_AUTO_BATCH[device.type]:
        batch *= 2
    return batch


def network_key(model: nn.Module) -> tuple:
    """Models whose forward runs the same network (SRGAN's and SRSEG's generator is SRResNet's)."""
    cls = type(model)
    return (cls.forward, cls._forward_rgb, model.y_channel, model.scale, repr(model.net), type(model.net))


# ------------------------------------------------------------------ the table
# (key, title, alignment and width, number format)
COLUMNS = [("model", "model", "<9", ""), ("scale", "x", ">2", ""), ("batch", "N", ">3", ""),
           ("variant", "variant", "<21", ""), ("gflops", "GFLOP", ">9", ".2f"), ("ms", "ms", ">9", ".1f"),
           ("gflops_per_s", "GFLOP/s", ">8", ".1f"), ("peak", "peak", "<4", ""), ("pct_of_peak", "%peak", ">5", ".0f"),
           ("max_diff", "maxdiff", ">7", ".0e"), ("exact", "exact", "<5", "")]


def format_header() -> str:
    return " ".join(f"{title:{width}}" for _, title, width, _ in COLUMNS)


def format_row(row: dict[str, Any]) -> str:
    cells = []
    for key, _, width, number in COLUMNS:
        value = row.get(key)
        if value is None:
            value = "-"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif number:
            value = f"{value:{number}}"
        cells.append(f"{value:{width}}")
    line = " ".join(cells)
    if row.get("status") != "ok":
        line += f"  {row.get('status')}: {row.get('reason', '')}"
    elif row.get("same_as"):
        line += f"  (the network of {row['same_as']}: measured once)"
    elif row.get("limit"):
        line += f"  {row['limit']}"
    return line


def recommend(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per model and batch: the fastest variant within the tolerance."""
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.get("status") != "ok" or not row.get("exact"):
            continue
        key = f"{row['model']} x{row['scale']} batch {row['batch']}"
        if key not in best or row["ms"] < best[key]["ms"]:
            best[key] = {"variant": row["variant"], "ms": row["ms"], "pct_of_peak": row["pct_of_peak"],
                         "max_diff": row["max_diff"]}
    return best


def _parse_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=None, help="LR side (default 64 on CPU, 128 on CUDA)")
    parser.add_argument("--batch", default=None, help="comma list of batch sizes or 'auto' (default 1,auto)")
    parser.add_argument("--models", default=None, help="comma list (default: every registered model)")
    parser.add_argument("--scale", type=int, default=None, help="factor (default 4, or the largest below it)")
    parser.add_argument("--variants", default=None, help="comma list; '+' combines features (default: eager, "
                        "channels_last, compile, bf16, onnxruntime; on CUDA also channels_last+bf16)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per group (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch and ONNX Runtime threads")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max abs difference still 'exact'")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="start no variant after this many seconds; compile and ONNX Runtime then come after "
                             "every model's other variants (default: benchmarks/gpu/run.sh's STEP_BUDGET less 20 s "
                             "when set, else none)")
    parser.add_argument("--smoke", action="store_true", help="toy sizes, one repeat (a check of the code paths)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.budget_s is None and os.environ.get("STEP_BUDGET", "").isdigit():
        args.budget_s = max(10.0, float(os.environ["STEP_BUDGET"]) - 20)
    started = time.monotonic()
    deadline = started + args.budget_s if args.budget_s else None
    size = args.size or (8 if args.smoke else 64 if device.type == "cpu" else 128)
    peak_side = 32 if args.smoke else PEAK_SIDE
    repeats = args.repeats or (1 if args.smoke else 3)
    args.repeats = repeats
    batch_spec = _parse_list(args.batch or ("1,2" if args.smoke else "1,auto"))
    numeric = [int(b) for b in batch_spec if b != "auto"]
    names = _parse_list(args.models) if args.models else list_models()
    variants = _parse_list(args.variants or ",".join(VARIANTS + (("channels_last+bf16",) if device.type == "cuda"
                                                                  else ())))

    skip: dict[str, str] = {}
    for feature, why in (("bf16", bf16_unsupported(device)), ("fp16", fp16_unsupported(device)),
                         ("compile", compile_unavailable(device)), ("onnxruntime", onnxruntime_unavailable(device))):
        if why and any(feature in v.split("+") for v in variants):
            skip[feature] = why
    if args.smoke:  # a compile or an export of each model costs seconds to a minute here
        for feature in ("compile", "onnxruntime"):
            skip.setdefault(feature, "smoke: bicubic batch 1 only")

    machine = (torch.cuda.get_device_name(device) if device.type == "cuda" else
               f"{platform.machine()} CPU ({platform.processor() or 'unknown'}), {os.cpu_count()} cores")
    header = {"device": args.device, "machine": machine, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "size": size, "repeats": repeats, "tolerance": args.tolerance,
              "smoke": args.smoke, "command": " ".join([os.path.basename(sys.argv[0]), *(argv or sys.argv[1:])]),
              "load_avg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
              "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32 if device.type == "cuda" else None}
    print(f"inference roofline: {machine}, torch {torch.__version__}, {header['threads']} threads, LR {size}x{size}, "
          f"median of {repeats} interleaved rounds; load average {header['load_avg_start']}")

    max_batch = max(numeric + ([MAX_AUTO_BATCH[device.type]] if "auto" in batch_spec else []) or [1])
    precisions = ["fp32"] + (["tf32"] if device.type == "cuda" else [])
    precisions += [p for p in ("bf16", "fp16") if p not in skip and any(p in v.split("+") for v in variants)]
    onnx_peak = "onnxruntime" not in skip and "onnxruntime" in variants
    peaks, all_refs = measure_peaks(device, [1, max_batch], peak_side, repeats, precisions, onnx_peak)
    best = best_peaks(peaks)
    for p in peaks:
        print(f"  peak {p['peak']:<32} {p['gflop']:8.2f} GFLOP {p['ms']:9.2f} ms {p['gflops_per_s']:9.1f} GFLOP/s"
              + ("  <- best" if best[p["precision"]] is p else ""))
    refs = {prec: all_refs[p["peak"]] for prec, p in best.items()}  # timed again in every group's rounds
    del all_refs
    for feature, why in skip.items():
        print(f"  {feature}: skipped ({why})")

    rows: list[dict[str, Any]] = []
    notes: list[str] = []

    def write_json() -> None:
        if args.json is not None:
            data = {**header, "elapsed_s": time.monotonic() - started, "peaks": peaks,
                    "best_peaks": {k: v["gflops_per_s"] for k, v in best.items()}, "notes": notes,
                    "recommended": recommend(rows), "rows": rows}
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(data, indent=1, default=str) + "\n")

    print(format_header())
    models: dict[str, tuple[int, nn.Module]] = {}
    shipped = set(available_pretrained())
    for name in names:
        scale = args.scale or default_scale(name)
        torch.manual_seed(0)
        pretrained = f"{name}_x{scale}" in shipped
        model = create_model(name, scale=scale, pretrained=pretrained).eval().to(device)
        model.weights = "shipped" if pretrained else "random"
        models[name] = (scale, model)
    sharing: dict[tuple, list[str]] = {}
    for name in names:
        sharing.setdefault(network_key(models[name][1]), []).append(name)
    measured: dict[tuple, tuple[str, list[dict[str, Any]]]] = {}
    # With a time budget the variants that take seconds to a minute to prepare (compile, export) come in a
    # second pass, after every model's cheap ones: a run cut short keeps the basics of every model.
    passes = [variants]
    if deadline is not None:
        passes = [p for p in ([v for v in variants if not _costly(v)], [v for v in variants if _costly(v)]) if p]
    with tempfile.TemporaryDirectory(prefix="sr_zoo_roofline_") as tmp:
        for number, pass_variants in enumerate(passes):
            # Batch 1 of every model first, then the full batches.
            for spec in batch_spec:
                for name in names:
                    scale, model = models[name]
                    if spec == "auto":
                        counted = [r["gflops"] / r["batch"] for r in rows if r["model"] == name]
                        per_image = counted[0] if counted else count_flops(model, (1, 3, size, size))[0] / 1e9
                        batch = auto_batch(per_image, device)
                        if batch == 1 or batch in numeric:
                            if number == 0:
                                notes.append(f"{name}: batch auto = {batch} ({per_image:.3g} GFLOP an image): "
                                             f"{'already fills the machine' if batch == 1 else 'measured already'}")
                            continue
                    else:
                        batch = int(spec)
                    key = (network_key(model), batch, number)
                    if key not in measured:  # once, under the smallest model's name (SRResNet: no discriminator)
                        canonical = min(sharing[network_key(model)],
                                        key=lambda n: sum(p.numel() for p in models[n][1].parameters()))
                        group_skip = dict(skip)
                        if args.smoke and canonical == "bicubic" and spec == batch_spec[0]:
                            group_skip = {k: v for k, v in skip.items() if not v.startswith("smoke")}
                        with warnings.catch_warnings():
                            warnings.filterwarnings("ignore", message=".*functools.lru_cache")  # dynamo, imresize
                            group = measure_group(canonical, *models[canonical], batch, size, pass_variants,
                                                  group_skip, refs, args, device, Path(tmp), deadline)
                        measured[key] = (canonical, group)
                    canonical, group = measured[key]
                    group = [r if name == canonical else dict(r, model=name, same_as=canonical) for r in group]
                    rows += group
                    for r in group:
                        print(format_row(r), flush=True)
                    write_json()
    header["load_avg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    for note in notes:
        print(f"  {note}")
    print("fastest within tolerance:")
    for key, r in recommend(rows).items():
        print(f"  {key}: {r['variant']} ({r['ms']:.1f} ms, {r['pct_of_peak']:.0f}% of peak, "
              f"max diff {r['max_diff']:.1e})")
    write_json()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
