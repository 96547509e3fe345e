"""Errors that the command line turns into one-line messages instead of tracebacks."""


class SRZooError(Exception):
    """A user-facing error: bad input, a missing file, an unsupported option.

    The message is one line and names the file or argument and what is wrong with it.
    """


class ImageReadError(SRZooError):
    """An image file that cannot be read or used (corrupt, not an image, too small)."""


class DatasetError(SRZooError):
    """A dataset folder that is missing, empty or laid out wrongly."""


class CheckpointError(SRZooError):
    """A checkpoint file that is missing, unreadable, not a checkpoint, or could not be written."""


class TrainingInterrupted(SRZooError):
    """Training stopped on a signal after writing a resumable checkpoint; ``exit_code`` is 128 + signal."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line; an error re-raised from a DataLoader worker (whose message
    carries the worker's traceback) is reduced to the original error's own message."""
    message = str(exc).strip()
    if "Original Traceback" in message:
        last = message.splitlines()[-1]
        message = last.split(": ", 1)[1] if ": " in last else last
    return " ".join(message.split("\n")) if message else type(exc).__name__
