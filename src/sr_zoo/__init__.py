"""sr_zoo: a PyTorch Lightning model zoo for single-image super-resolution."""

from sr_zoo.errors import DatasetError, ImageReadError, SRZooError

__version__ = "0.1.0"

__all__ = ["DatasetError", "ImageReadError", "SRZooError", "__version__"]
