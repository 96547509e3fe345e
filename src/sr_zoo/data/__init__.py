"""Datasets: image reading, benchmark sets, training patches and the LightningDataModule."""

from sr_zoo.data.batches import EvalBatch, PredictBatch, TrainBatch
from sr_zoo.data.datamodule import SRDataModule
from sr_zoo.data.degradation import DEGRADATIONS, degrade
from sr_zoo.data.eval_sets import BenchmarkDataset, make_lr, modcrop
from sr_zoo.data.patches import PatchDataset, collate_patches
from sr_zoo.data.recipes import RECIPES, Recipe, get_recipe
from sr_zoo.data.sources import TEST_SETS, Record, data_root, resolve_benchmark, resolve_source, test_set
from sr_zoo.files.images import IMAGE_EXTENSIONS, decode_image, list_images, probe_image, read_image, write_image

__all__ = [
    "DEGRADATIONS",
    "IMAGE_EXTENSIONS",
    "RECIPES",
    "TEST_SETS",
    "BenchmarkDataset",
    "EvalBatch",
    "PatchDataset",
    "PredictBatch",
    "Recipe",
    "Record",
    "SRDataModule",
    "TrainBatch",
    "collate_patches",
    "data_root",
    "decode_image",
    "degrade",
    "get_recipe",
    "list_images",
    "make_lr",
    "modcrop",
    "probe_image",
    "read_image",
    "resolve_benchmark",
    "resolve_source",
    "test_set",
    "write_image",
]
