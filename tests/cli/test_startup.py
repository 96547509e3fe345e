"""``sr-zoo --help``, ``sr-zoo models``, ``sr-zoo <cmd> --help`` and argument errors import neither torch nor
Lightning (issue 20.5); the registry's static table and ``sr-zoo models``' parameter counts agree with
the model classes they stand for."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sr_zoo.models
from sr_zoo.models import _registry, list_models, model_info

HEAVY = ("torch", "lightning", "pytorch_lightning", "torchvision", "cv2")
MODELS_DIR = Path(sr_zoo.models.__file__).parent

_PROBE = """
import json, sys
argv, report = json.loads(sys.argv[1]), sys.argv[2]
rc = None
try:
    if argv and argv[0] == "-c":
        exec(argv[1])
    else:
        import sr_zoo.cli
        rc = sr_zoo.cli.main(argv)
except SystemExit as exc:  # argparse: --help and usage errors
    rc = exc.code
with open(report, "w") as f:
    json.dump({"rc": rc, "loaded": sorted(m for m in %r if m in sys.modules)}, f)
""" % (HEAVY,)


def _probe(argv: list[str], tmp_path: Path) -> tuple[int | None, list[str], str, str]:
    """``sr_zoo.cli.main(argv)`` (or ``-c CODE``) in a fresh interpreter: exit status, heavy modules loaded,
    stdout, stderr."""
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv), str(report)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert report.is_file(), done.stderr
    result = json.loads(report.read_text())
    return result["rc"], result["loaded"], done.stdout, done.stderr


@pytest.mark.parametrize("argv,expected", [
    (["--help"], ["usage: sr-zoo", "benchmark", "upscale", "compare", "models", "fit"]),
    (["upscale", "--help"], ["usage: sr-zoo upscale", "--tile", "--self-ensemble", "--precision {32,bf16,16}"]),
    (["benchmark", "--help"], ["usage: sr-zoo benchmark", "--format {table,markdown,csv,json}", "--metrics"]),
    (["compare", "--help"], ["usage: sr-zoo compare", "--box"]),
    (["models", "--help"], ["usage: sr-zoo models"]),
])
def test_help_imports_no_torch(argv: list[str], expected: list[str], tmp_path: Path) -> None:
    rc, loaded, out, _ = _probe(argv, tmp_path)
    assert rc == 0 and loaded == []
    for text in expected:
        assert text in out, text


def test_models_imports_no_torch_and_lists_every_model(tmp_path: Path) -> None:
    rc, loaded, out, _ = _probe(["models"], tmp_path)
    assert rc == 0 and loaded == []
    lines = out.splitlines()
    first_table = lines[1 : next(i for i, line in enumerate(lines) if line.startswith("weights:"))]
    rows = {line.split()[0]: " ".join(line.split()) for line in first_table}
    assert sorted(rows) == list_models()
    assert rows["csrcnn"].startswith("csrcnn 2 4 8 - x2: 1,964,611, x4: 3,402,310, x8: 4,368,201 CSRCNN")
    assert rows["emtcm"].startswith("emtcm 2 3 4 x2 x3 x4 x2: 19,409")
    assert any(line.split()[:4] == ["fsrcnn", "authors", "x3", "33.16"] for line in lines)  # the weights by name


@pytest.mark.parametrize("argv,message", [
    (["upscale", "in.png", "-o", "out", "--model", "nosuch", "--scale", "2"],
     "sr-zoo: error: unknown model 'nosuch'; available: bicubic, csrcnn, emtcm, fsrcnn, msfmgan, srcnn, srgan, "
     "srresnet, srseg\n"),
    (["upscale", "in.png", "-o", "out", "--model", "fsrcnn", "--scale", "8"],
     "sr-zoo: error: model 'fsrcnn' cannot do scale 8; allowed scales: 2, 3, 4\n"),
    (["upscale", "in.png", "-o", "out", "--model", "fsrcnn", "--scale", "2", "--tile-overlap", "wide"],
     "sr-zoo: error: --tile-overlap: expected 'auto' or a number of pixels, got 'wide'\n"),
    (["upscale", "in.png", "-o", "out", "--model", "csrcnn"],
     "sr-zoo: error: --scale is required (or run an exported model with --onnx FILE)\n"),
    (["export", "--model", "nosuch", "--scale", "2", "-o", "m.onnx"],
     "sr-zoo: error: unknown model 'nosuch'; available: bicubic, csrcnn, emtcm, fsrcnn, msfmgan, srcnn, srgan, "
     "srresnet, srseg\n"),
    (["benchmark", "--model", "csrcnn", "--scale", "2", "5", "--data", "set5"],
     "sr-zoo: error: model 'csrcnn' cannot do scale 5; allowed scales: 2, 4, 8\n"),
    (["compare", "hr.png", "--scale", "3", "--models", "bicubic", "csrcnn=a.ckpt", "-o", "f.png"],
     "sr-zoo: error: model 'csrcnn' cannot do scale 3; allowed scales: 2, 4, 8\n"),
    (["benchmark", "--scale", "2", "--data", "set5", "--json", "--format", "csv"],
     "sr-zoo: error: --json: prints JSON (it is --format json); it cannot go with --format csv\n"),
])
def test_argument_errors_import_no_torch(argv: list[str], message: str, tmp_path: Path) -> None:
    rc, loaded, out, err = _probe(argv, tmp_path)
    assert (rc, loaded, out, err) == (2, [], "", message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv,message", [
    (["upscale", "in.png", "--model", "csrcnn"], "the following arguments are required: -o/--output"),
    (["upscale", "in.png", "-o", "out", "--model", "csrcnn", "--scale", "2", "--precision", "64"],
     "argument --precision: invalid choice: '64'"),
    (["benchmark", "--scale", "2", "--data", "set5", "--format", "html"], "argument --format: invalid choice: 'html'"),
    (["compare", "hr.png", "--models", "bicubic", "-o", "f.png"], "the following arguments are required: --scale"),
    (["nosuch"], "argument COMMAND: invalid choice: 'nosuch'"),
    (["upscale", "in.png", "-o", "out", "--model", "fsrcnn", "--scale", "abc"], "argument --scale: invalid int value"),
    (["benchmark", "--scale", "3.5", "--data", "set5"], "argument --scale: invalid int value: '3.5'"),
    (["compare", "hr.png", "--scale", "3.5", "--models", "bicubic", "-o", "f.png"], "argument --scale: invalid int"),
    (["export", "--model", "srcnn", "--scale", "3.5", "-o", "m.onnx"], "argument --scale: invalid int value: '3.5'"),
    (["upscale", "in.png", "-o", "out", "--model", "fsrcnn", "--scale", "2", "--tile", "abc"],
     "argument --tile: invalid int value: 'abc'"),
    (["upscale", "in.png", "-o", "out", "--onnx", "a.onnx", "--torchscript", "b.pt"],
     "argument --torchscript: not allowed with argument --onnx"),
    (["benchmark", "--scale", "2", "--data", "set5", "--metrics", "foo"], "argument --metrics: invalid choice: 'foo'"),
    (["convert", "x3.mat"], "the following arguments are required: -o/--output"),
])
def test_usage_errors_import_no_torch(argv: list[str], message: str, tmp_path: Path) -> None:
    """One line naming the argument and what it allows, then where the usage is (no usage block)."""
    rc, loaded, out, err = _probe(argv, tmp_path)
    assert (rc, loaded, out) == (2, [], "")
    command = f"sr-zoo {argv[0]}" if argv[0] != "nosuch" else "sr-zoo"
    assert err.startswith(f"sr-zoo: error: {message.removeprefix('argument ')}"), err
    assert len(err.splitlines()) == 1 and err.rstrip().endswith(f"(see {command} --help)"), err


def test_import_sr_zoo_models_is_light(tmp_path: Path) -> None:
    code = "import sr_zoo.models as m; assert m.model_info('srseg').scales == (2, 4, 8); m.list_models()"
    assert _probe(["-c", code], tmp_path)[:2] == (None, [])


def test_lazy_exports_are_the_classes() -> None:
    from sr_zoo.models import CSRCNN, SRModule

    csrcnn = importlib.import_module("sr_zoo.models.csrcnn")
    base = importlib.import_module("sr_zoo.models.base")
    assert CSRCNN is csrcnn.CSRCNN is sr_zoo.models.CSRCNN and SRModule is base.SRModule
    assert sr_zoo.models.SRSEG is importlib.import_module("sr_zoo.models.srseg").SRSEG
    assert sorted(sr_zoo.models.__all__) == sorted([
        "CSRCNN", "EMTCM", "FSRCNN", "MSFMGAN", "GANModule", "SRCNN", "SRGAN", "SRSEG", "SRResNet", "Bicubic",
        "ModelInfo", "PixelLossModule", "SRModule", "check_scale", "create_model", "inference_model", "list_models",
        "model_info", "read_checkpoint", "save_pretrained", "from_pretrained"])
    assert set(sr_zoo.models.__all__) <= set(dir(sr_zoo.models))
    with pytest.raises(AttributeError, match="no attribute 'Nosuch'"):
        sr_zoo.models.Nosuch
    for name in sr_zoo.models.__all__:
        if name not in ("save_pretrained", "from_pretrained"):
            assert getattr(sr_zoo.models, name) is not None


def test_lazy_hub_exports() -> None:
    hub = importlib.import_module("sr_zoo.models.hub")
    assert sr_zoo.models.save_pretrained is hub.save_pretrained
    assert sr_zoo.models.from_pretrained is hub.from_pretrained


def _decorators_in_source() -> dict[str, tuple[str, str]]:
    """Every ``@register_model(...)`` in ``sr_zoo/models/**/*.py``, read from the source (not imported):
    name -> (module, class name)."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(MODELS_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "register_model":
                    name = ast.literal_eval(deco.args[0])
                    assert name not in found, f"{name} decorated twice"
                    assert not deco.keywords, f"{name}: paper and scales are the registry's spec, not repeated"
                    module = ".".join(path.relative_to(MODELS_DIR).with_suffix("").parts)
                    found[name] = (f"sr_zoo.models.{module}", node.name)
    return found


def test_the_specs_equal_the_decorators() -> None:
    in_source = _decorators_in_source()
    assert len(in_source) == 9
    table = {name: (info.module, info.class_name) for name, info in _registry._table().items()}
    assert table == in_source
    classes = _registry.import_models()  # every model module imported: each decorator checked itself
    assert sorted(classes) == sorted(_registry._BUILDERS) == list_models()
    for name, cls in classes.items():
        assert cls.model_name == name and cls.__module__ == model_info(name).module
        assert cls is model_info(name).builder is getattr(importlib.import_module(cls.__module__), cls.__name__)
        assert getattr(sr_zoo.models, model_info(name).class_name) is cls  # the lazy export, from the spec
        assert model_info(name).class_name in sr_zoo.models.__all__


def test_register_model_refuses_a_class_the_table_lacks_or_contradicts() -> None:
    class FSRCNN:
        pass

    with pytest.raises(ValueError, match="'stray' has no spec"):
        _registry.register_model("stray")(FSRCNN)
    FSRCNN.__module__ = "sr_zoo.models.fsrcnn.model"
    paper = model_info("fsrcnn").paper
    with pytest.raises(ValueError, match="make them agree"):  # older code's paper and scales are still checked
        _registry.register_model("fsrcnn", paper=paper, scales=(2, 3))(FSRCNN)
    with pytest.raises(ValueError, match="make them agree"):
        _registry.register_model("fsrcnn", paper="FSRCNN", scales=(2, 3, 4))(FSRCNN)
    FSRCNN.__module__ = "sr_zoo.models.srcnn.model"
    with pytest.raises(ValueError, match="make them agree"):  # another module than the spec's
        _registry.register_model("fsrcnn")(FSRCNN)
    FSRCNN.__module__ = "sr_zoo.models.fsrcnn.model"
    FSRCNN.__name__ = "FSRCNNv2"
    with pytest.raises(ValueError, match="make them agree"):  # another class than the spec's
        _registry.register_model("fsrcnn")(FSRCNN)
    FSRCNN.__name__ = "FSRCNN"
    importlib.import_module("sr_zoo.models.fsrcnn.model")
    with pytest.raises(ValueError, match="registered twice"):  # agrees with the spec, but FSRCNN holds the name
        _registry.register_model("fsrcnn")(FSRCNN)
    assert not hasattr(FSRCNN, "model_name") and model_info("fsrcnn").builder is not FSRCNN


def test_parameter_table_is_what_the_models_build() -> None:
    from sr_zoo.cli.models import PARAMETERS, parameter_count

    assert sorted(PARAMETERS) == list_models()
    for name, counts in PARAMETERS.items():
        assert sorted(counts) == list(model_info(name).scales or (2, 3, 4, 8))
        for scale, count in counts.items():
            assert parameter_count(name, scale) == count, (name, scale)


def test_weights_column_is_the_manifest() -> None:
    from sr_zoo.models import model_info
    from sr_zoo.models.pretrained import available_pretrained

    keys = available_pretrained()
    assert keys  # the package ships weights
    assert sorted(f"{n}_x{s}" for n in list_models() for s in model_info(n).weights) == keys


def test_benchmark_formats_are_the_reports() -> None:
    from sr_zoo.cli.benchmark import FORMATS
    from sr_zoo.inference.report import FORMATS as REPORT_FORMATS

    assert FORMATS == REPORT_FORMATS


def test_every_lazy_inference_name_is_its_modules_object() -> None:
    import sr_zoo.inference

    for name, module in sr_zoo.inference._LAZY.items():
        assert getattr(sr_zoo.inference, name) is getattr(importlib.import_module(module), name), name
    assert sorted(sr_zoo.inference.__all__) == sorted(sr_zoo.inference._LAZY)
    assert "to_inference_device" in sr_zoo.inference.__all__
