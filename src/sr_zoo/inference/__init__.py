"""Using a trained model: tiled upscaling of any image size (``tiling``), x8 self-ensemble
(``self_ensemble``), scoring on evaluation sets (``evaluation``), comparison figures (``figures``) and the
``predict`` writer (``prediction_writer``).

May import everything below ``cli``; the command line is built on it, never the other way round.
"""

from sr_zoo.inference.evaluation import BenchmarkResult, evaluate, format_table
from sr_zoo.inference.figures import Panel, comparison_figure
from sr_zoo.inference.prediction_writer import SRPredictionWriter
from sr_zoo.inference.self_ensemble import SelfEnsemble
from sr_zoo.inference.tiling import receptive_radius, upscale, upscale_tiles, upscaled_tiles

__all__ = ["BenchmarkResult", "Panel", "SRPredictionWriter", "SelfEnsemble", "comparison_figure", "evaluate",
           "format_table", "receptive_radius", "upscale", "upscale_tiles", "upscaled_tiles"]
