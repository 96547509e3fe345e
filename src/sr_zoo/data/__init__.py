"""Datasets: image reading, benchmark sets (and, later, the training LightningDataModule)."""

from sr_zoo.data.benchmark import BenchmarkDataset, make_lr, modcrop
from sr_zoo.data.io import IMAGE_EXTENSIONS, decode_image, list_images, probe_image, read_image, write_image

__all__ = [
    "IMAGE_EXTENSIONS",
    "BenchmarkDataset",
    "decode_image",
    "list_images",
    "make_lr",
    "modcrop",
    "probe_image",
    "read_image",
    "write_image",
]
