"""Errors that the command line turns into one-line messages instead of tracebacks."""


class SRZooError(Exception):
    """A user-facing error: bad input, a missing file, an unsupported option.

    The message is one line and names the file or argument and what is wrong with it.
    """


class ImageReadError(SRZooError):
    """An image file that cannot be read or used (corrupt, not an image, too small)."""


class DatasetError(SRZooError):
    """A dataset folder that is missing, empty or laid out wrongly."""
