"""Using a trained model: tiled upscaling of any image size (``tiling``), x8 self-ensemble
(``self_ensemble``), scoring on evaluation sets (``evaluation``), comparison figures (``figures``), the
``predict`` writer (``prediction_writer``), the inference layout (``layout``) and export to ONNX/TorchScript
(``export``).

May import everything below ``cli``; the command line is built on it, never the other way round. The names
below are imported on first use: upscaling an exported model needs neither Lightning nor the data module.
"""

from __future__ import annotations

from sr_zoo._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "BenchmarkResult": "sr_zoo.inference.evaluation",
    "ExportedModel": "sr_zoo.inference.export",
    "Panel": "sr_zoo.inference.figures",
    "SRPredictionWriter": "sr_zoo.inference.prediction_writer",
    "SelfEnsemble": "sr_zoo.inference.self_ensemble",
    "comparison_figure": "sr_zoo.inference.figures",
    "evaluate": "sr_zoo.inference.evaluation",
    "export_model": "sr_zoo.inference.export",
    "format_table": "sr_zoo.inference.evaluation",
    "inference_memory_format": "sr_zoo.inference.layout",
    "receptive_radius": "sr_zoo.inference.tiling",
    "to_inference_device": "sr_zoo.inference.layout",
    "upscale": "sr_zoo.inference.tiling",
    "upscale_tiles": "sr_zoo.inference.tiling",
    "upscaled_tiles": "sr_zoo.inference.tiling",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
