"""Image operations that must match MATLAB exactly: bicubic resize and YCbCr conversion."""

from sr_zoo.ops.color import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from sr_zoo.ops.imresize import cubic_kernel, imresize, resize_matrix, upsample_integer
from sr_zoo.ops.quantize import quantize

__all__ = ["cubic_kernel", "imresize", "quantize", "resize_matrix", "rgb_to_y", "rgb_to_ycbcr", "upsample_integer",
           "ycbcr_to_rgb"]
