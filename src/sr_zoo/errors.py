"""Errors that the command line turns into one-line messages instead of tracebacks."""


class SRZooError(Exception):
    """A user-facing error: bad input, a missing file, an unsupported option.

    The message is one line and names the file or argument and what is wrong with it.
    """


class ImageReadError(SRZooError):
    """An image file that cannot be read or used (corrupt, not an image, too small)."""


class DatasetError(SRZooError):
    """A dataset folder that is missing, empty or laid out wrongly."""


class WeightsError(SRZooError):
    """Pretrained weights that are missing and could not be fetched, or fail their checksum."""


class CheckpointError(SRZooError):
    """A checkpoint file that is missing, unreadable, not a checkpoint, or could not be written."""


class TrainingInterrupted(SRZooError):
    """Training stopped on a signal after writing a resumable checkpoint; ``exit_code`` is 128 + signal.

    ``quiet``: a DDP rank other than 0, which exits with the same status without repeating rank 0's line.
    """

    def __init__(self, message: str, exit_code: int = 130, quiet: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.quiet = quiet


class Interrupted(BaseException):
    """A signal (Ctrl+C, SIGTERM) stopped the command where it was; ``exit_code`` is 128 + signal.

    A ``BaseException``, as ``KeyboardInterrupt`` is: no ``except Exception`` on its way swallows it or
    reports it as an error of its own, while ``finally`` and ``except BaseException`` cleanup still runs
    (a half-written temporary file is removed). Raised by ``sr_zoo.interrupts``' handlers. ``quiet``: a
    DDP rank other than 0, which exits with the same status without repeating rank 0's line.
    """

    def __init__(self, signum: int, message: str | None = None) -> None:
        import signal

        super().__init__(message or f"{signal.Signals(signum).name}: stopped")
        self.signum = int(signum)
        self.exit_code = 128 + int(signum)
        self.quiet = False


def one_line(message: BaseException | object) -> str:
    """``message`` (an exception or any text) on one line; an error re-raised from a DataLoader worker
    (whose message carries the worker's traceback) is reduced to the original error's own message."""
    text = str(message).strip()
    if isinstance(message, BaseException) and "Original Traceback" in text:
        last = text.splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    if not text:
        return type(message).__name__ if isinstance(message, BaseException) else ""
    return " ".join(text.split())


_WARNED: set[str] = set()


def warn_once(message: str) -> None:
    """``sr-zoo: warning: <message>`` on stderr, once per message in this process, on one line."""
    import sys

    text = one_line(message)
    if text not in _WARNED:
        _WARNED.add(text)
        print(f"sr-zoo: warning: {text}", file=sys.stderr, flush=True)
