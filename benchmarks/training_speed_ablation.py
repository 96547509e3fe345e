"""Where ``sr-zoo fit`` loses to the bare loop: ``training_speed.py``'s two ways plus fit variants, in one run.

    python benchmarks/training_speed_ablation.py [--recipe experiments/fsrcnn_x3.yaml] [--steps 200] [--repeats 2]

Each repeat times the bare loop, then ``sr-zoo fit`` as a user runs it, with the W&B logger off, with the progress
bar off, with both off, and with a thread that prefetches the training loader's batches in the main process
(tried for issue 27, not part of the package). Each line gives samples per second, the ratio to that repeat's bare
loop and the median time between batches. The rates move a lot between repeats on a shared machine; compare the
ratios of one line.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
from pathlib import Path

from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).parent))
import training_speed as speed  # noqa: E402  (this folder's benchmark: its bank, bare loop and fit timing)

VARIANTS = {
    "default": [],
    "logger off": ["--trainer.logger", "false"],
    "progress bar off": ["--trainer.enable_progress_bar", "false"],
    "both off": ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false"],
    "prefetch thread": [],
}


class PrefetchingLoader(DataLoader):
    """The same loader, its batches made by a thread of this process up to two ahead."""

    def __iter__(self):  # noqa: ANN204
        batches, ready, stop, end = super().__iter__(), queue.Queue(maxsize=2), threading.Event(), object()

        def produce() -> None:
            try:
                for batch in batches:
                    while not stop.is_set():
                        try:
                            ready.put(batch, timeout=0.1)
                            break
                        except queue.Full:
                            pass
            finally:
                ready.put(end)

        threading.Thread(target=produce, daemon=True).start()
        try:
            while (batch := ready.get()) is not end:
                yield batch
        finally:
            stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", type=Path, default=speed.ROOT / "experiments" / "fsrcnn_x3.yaml")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("SR_ZOO_DATA", str(speed.ROOT.parent / "shared" / "data"))
    import sr_zoo.data.datamodule as datamodule

    plain = datamodule.SRDataModule.train_dataloader
    prefetch = {"on": False}

    def train_dataloader(self):  # noqa: ANN001, ANN202
        loader = plain(self)
        if prefetch["on"]:
            loader.__class__ = PrefetchingLoader
        return loader

    datamodule.SRDataModule.train_dataloader = train_dataloader
    _, data = speed.recipe_parts(args.recipe, None)
    _, epoch = speed.patch_batches(data, 1)
    warmup = epoch + 10
    bank, _ = speed.patch_batches(data, warmup + args.steps)
    for repeat in range(args.repeats):
        bare = speed.bare_loop(speed.recipe_parts(args.recipe, None)[0], bank, warmup)
        print(f"repeat {repeat + 1}: bare loop {bare:.0f} samples/s", flush=True)
        for name, extra in VARIANTS.items():
            prefetch["on"] = name == "prefetch thread"
            rate, gap = speed.fit_rate(args.recipe, warmup + args.steps, warmup, data["batch_size"], extra)
            print(f"  fit, {name:16s} {rate:7.0f} samples/s  ratio {rate / bare:.3f}  between batches {gap:.1f} ms",
                  flush=True)


if __name__ == "__main__":
    main()
