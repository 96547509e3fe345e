"""``sr-zoo fit|validate|test|predict``: LightningCLI over the zoo's models and ``SRDataModule``.

Two conveniences on top of LightningCLI's own arguments: ``--model NAME`` takes the zoo's lowercase
names (``--model emtcm``; class paths work too), and ``--scale S`` sets ``--data.scale``, which is
linked to the model's scale, so one number reaches both.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import warnings
from typing import Any, Iterator, Sequence

from jsonargparse import ArgumentError, lazy_instance
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities import rank_zero_warn

from sr_zoo.cli.demo import DEMO_PLAN_ENV, budget_words, demo_arguments, plan_demo, recipe_hint
from sr_zoo.cli.preflight import check_run, ckpt_file, run_model_and_scale
from sr_zoo.cli.threads import oversubscription_warning
from sr_zoo.data import SRDataModule
from sr_zoo.errors import SRZooError
from sr_zoo.interrupts import command_signals
from sr_zoo.models import SRModule, list_models, model_info
from sr_zoo.training.checkpointing import AtomicCheckpointIO, InterruptCheckpoint
from sr_zoo.training.loggers import RUN_ID_KEY, SRZooWandbLogger, WandbRunId, check_wandb_mode, resume_run, resuming_run
from sr_zoo.training.progress_bar import TimedProgressBar
from sr_zoo.training.summary import RunSummary

__all__ = ["SUBCOMMANDS", "SRZooCLI", "finish_trainer", "run_lightning_cli", "trainer_defaults", "translate_args"]

SUBCOMMANDS = ("fit", "validate", "test", "predict")


class ConfigToLoggers(SaveConfigCallback):
    """LightningCLI's ``config.yaml`` in the log folder, and the same configuration (class paths
    included) in the W&B run's config under ``cli``, so a dashboard shows what was run."""

    def save_config(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        config = self.parser.dump(self.config, skip_none=False, format="json")
        for logger in trainer.loggers:
            if hasattr(logger, "experiment") and hasattr(getattr(logger, "experiment"), "config") \
                    and type(logger).__name__.endswith("WandbLogger"):
                logger.experiment.config.update({"cli": json.loads(config)}, allow_val_change=True)


def trainer_defaults(lazy_logger: bool = True, command: Sequence[str] | None = None) -> dict[str, Any]:
    """The Trainer arguments ``sr-zoo`` starts from (a recipe or ``--trainer.*`` overrides them): ``last.ckpt``
    and checkpoints each epoch, a checkpoint on Ctrl+C/SIGTERM (whose hint repeats ``command``, the user's
    ``sr-zoo fit ...``, with ``--ckpt_path``), the closing summary, and the W&B logger (built when first used,
    as LightningCLI needs it; ``lazy_logger=False`` for a ``Trainer`` made directly)."""
    logger = lazy_instance if lazy_logger else (lambda cls, **kwargs: cls(**kwargs))
    return {
        "callbacks": [ModelCheckpoint(save_last=True), InterruptCheckpoint(command=command), RunSummary(),
                      WandbRunId()],
        "logger": logger(SRZooWandbLogger, project="sr_zoo"),
    }


def finish_trainer(trainer: Trainer) -> Trainer:
    """``trainer`` as ``sr-zoo`` runs it: writing checkpoints atomically (``AtomicCheckpointIO``) unless a plugin of
    the user's writes them, and with ``TimedProgressBar`` for Lightning's default bar (a bar with other settings
    stays)."""
    if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
        trainer.strategy.checkpoint_io = AtomicCheckpointIO()
    trainer.callbacks = [TimedProgressBar() if type(c) is TQDMProgressBar and c.refresh_rate == 1 else c
                         for c in trainer.callbacks]
    return trainer


class SRZooCLI(LightningCLI):
    """LightningCLI with ``data.scale`` linked to ``model.init_args.scale``, whose parsed configuration (the command
    line, ``--config`` files, ``--trainer FILE``, the environment, merged) is checked before anything is built
    (``sr_zoo.cli.preflight.check_run``) and names the W&B run a resumed fit continues."""

    def add_arguments_to_parser(self, parser) -> None:  # noqa: ANN001 - jsonargparse parser
        parser.link_arguments("data.scale", "model.init_args.scale")

    def parse_arguments(self, parser, args) -> None:  # noqa: ANN001 - jsonargparse parser and arguments
        """LightningCLI's parse, with the demo budget where the parsed configuration has no recipe and no budget
        (``demo_arguments``: then parsed again with it, so that ``--print_config`` shows what will run), then the
        zoo's checks on the result: before LightningCLI reads ``--ckpt_path``'s hyper-parameters into the run (a
        checkpoint of another model would replace it) or builds anything."""
        args = list(args or [])
        printing = [a for a in args if a.split("=", 1)[0] == "--print_config"]  # jsonargparse prints, then exits
        rest = [a for a in args if a not in printing]
        super().parse_arguments(parser, rest)
        subcommand = self.config.get("subcommand")
        demo = demo_arguments(self.config)
        if demo:
            name, scale = run_model_and_scale(self.config[subcommand])
            resumed_plan = bool(os.environ.get(DEMO_PLAN_ENV))
            plan = plan_demo(self.config, name, scale)
            demo += plan.arguments()
        if demo or printing:
            super().parse_arguments(parser, [*rest, *demo, *printing])
        if demo and not resumed_plan:  # the first process says it; those DDP starts with its argv do not
            print(f"sr_zoo: no recipe (--config) and no budget given: a {budget_words()} demo "
                  f"({plan.describe()}): it shows the pipeline run end to end and the loss fall, not a trained model; "
                  f"{recipe_hint(name, scale)}", flush=True)
        check_run(self.config, subcommand)
        check_wandb_mode()  # inside the logger's constructor, jsonargparse would bury the error in its usage dump
        if subcommand == "fit":
            resume_run(_checkpoint_run_id(ckpt_file(self.config["fit"].get("ckpt_path"))))

    def before_fit(self) -> None:
        """What the fit needs beyond its network (the GAN's VGG16), fetched before the trainer prints its model
        summary or starts: a missing file is one line before any work. On a CPU whose cores other work keeps busy,
        a line on torch's threads (``sr_zoo.cli.threads``)."""
        self.model.fetch_fit_weights(self.trainer)
        if self.trainer.strategy.root_device.type == "cpu":
            advice = oversubscription_warning()
            if advice:
                rank_zero_warn(advice)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The Trainer, finished by ``finish_trainer`` (atomic checkpoints, the timed progress bar). A recipe's own
        ``ModelCheckpoint`` replaces the default one (LightningCLI would add both, and two of the same
        settings stop Lightning: "more than one stateful callback")."""
        given = (self._get(self.config_init, "trainer", default={}) or {}).get("callbacks") or []
        if any(isinstance(callback, ModelCheckpoint) for callback in given):
            self.trainer_defaults = {**self.trainer_defaults, "callbacks": [
                c for c in self.trainer_defaults.get("callbacks", []) if not isinstance(c, ModelCheckpoint)]}
        return finish_trainer(super().instantiate_trainer(**kwargs))


def _model_class_path(name: str) -> str:
    if "." in name:  # a class path already
        return name
    info = model_info(name)  # unknown: one line listing the zoo
    return f"sr_zoo.models.{info.class_name}"  # the public path, as recipes name it and jsonargparse writes it


def translate_args(argv: Sequence[str]) -> list[str]:
    """``--model emtcm`` -> ``--model sr_zoo.models.EMTCM``; ``--scale 3`` -> ``--data.scale 3``."""
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        key, eq, value = arg.partition("=")
        if key in ("--model", "--scale"):
            if not eq:
                if i + 1 >= len(args):
                    raise SRZooError(f"{key} needs a value")
                value = args[i + 1]
                i += 1
            if key == "--model":
                out.append(f"--model={_model_class_path(value)}")
            else:
                try:
                    int(value)
                except ValueError:
                    raise SRZooError(f"--scale: expected an integer, got {value!r}") from None
                out.append(f"--data.scale={value}")
        else:
            out.append(arg)
        i += 1
    return out


def _checkpoint_run_id(path: str | None) -> str | None:
    """The W&B run a fit resumed from checkpoint ``path`` continues: the one the checkpoint records (``WandbRunId``)."""
    from sr_zoo.training.checkpointing import load_checkpoint_file

    if path is None or not os.path.isfile(path):
        return None
    run_id = load_checkpoint_file(path).get(RUN_ID_KEY)
    return run_id if isinstance(run_id, str) else None


def run_lightning_cli(argv: Sequence[str]) -> int:
    """Run a LightningCLI subcommand; user errors surface as ``SRZooError``, signals as ``Interrupted``,
    for the caller (``sr_zoo.cli.main``) to print in one line.

    Ctrl+C or SIGTERM outside training ends with status 130 / 143 (Lightning would exit 1, or ignore
    SIGTERM); during training ``InterruptCheckpoint`` takes over and writes a checkpoint first.
    """
    import torch

    quiet_known_noise()
    threads = torch.get_num_threads()  # the demo may lower them (sr_zoo.cli.demo): for this command only
    planned = os.environ.get(DEMO_PLAN_ENV)  # a DDP process's, from the first process
    try:
        with command_signals("outside training: nothing to save"):
            return _run(argv)
    finally:
        torch.set_num_threads(threads)
        if planned is None:
            os.environ.pop(DEMO_PLAN_ENV, None)


class _DropLitLoggerTip(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in str(record.msg)


def _zoo_warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                      line: str | None = None) -> str:
    """The zoo's own warnings as ``sr_zoo: warning: ...`` lines; others as Python prints them."""
    if os.sep + "sr_zoo" + os.sep in filename:
        return f"sr_zoo: warning: {message}\n"
    return _python_warning_line(message, category, filename, lineno, line)


_python_warning_line = warnings.formatwarning


def quiet_known_noise() -> None:
    """What ``sr-zoo fit`` would print on every run and the zoo knows to be harmless: Lightning's advert for
    its own logger, a deprecation inside Lightning's pytree helper (torch 2.10+), and the source line under
    each of the zoo's warnings (they are one sentence each, naming the file). Other warnings print as usual."""
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropLitLoggerTip())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated")
    warnings.formatwarning = _zoo_warning_line


_ZOO_HELP = """sr-zoo {command}: the zoo's own arguments first (LightningCLI's full list follows)
  --model NAME         a zoo model: {models} (or a class path)
  --scale S            the upscaling factor (sets --data.scale, which the model's scale follows)
  --config FILE        a recipe, e.g. experiments/emtcm_x3.yaml (see experiments/README.md); several compose
  --ckpt_path FILE     resume (fit) or score (validate/test/predict) a checkpoint of the same model and scale
  --print_schedule     what a recipe will do, stage by stage, without training (fit)
  --data.train/--data.val/--data.test  sources and test sets by name (t91, div2k, set5, bsd100 ...) or folders
Without --config or a budget, fit trains for 3 minutes on the bundled demo photos and says so.
"""


def _run(argv: Sequence[str]) -> int:
    if "--print_schedule" in argv:
        return print_schedule(argv)
    if {"-h", "--help"} & set(argv):
        print(_ZOO_HELP.format(command=argv[0] if argv else "fit", models=", ".join(list_models())), flush=True)
    args = translate_args(argv)
    # We hand LightningCLI the translated arguments while sys.argv keeps the user's (DDP's launcher
    # re-runs sys.argv in each process), which LightningCLI warns about; the two say the same thing.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    with one_line_parse_errors(f"sr-zoo {argv[0] if argv else 'fit'}"), resuming_run(None):
        SRZooCLI(
            SRModule,
            SRDataModule,
            subclass_mode_model=True,
            args=args,
            trainer_defaults=trainer_defaults(command=["sr-zoo", *argv]),
            save_config_callback=ConfigToLoggers,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            parser_kwargs=parser_kwargs("sr-zoo"),
            seed_everything_default=0,  # what Lightning picks anyway, said once ("Seed set to 0"), not warned
        )
    return 0


def print_schedule(argv: Sequence[str]) -> int:
    """``sr-zoo fit ... --print_schedule``: what the recipe will do, from the parser and objects that train
    (``sr_zoo.cli.schedule_trace``); trains nothing."""
    from sr_zoo.cli.schedule_trace import schedule_table

    args = [a for a in translate_args(argv) if a not in ("fit", "--print_schedule")]
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    with one_line_parse_errors("sr-zoo fit"):
        cli = SRZooCLI(SRModule, SRDataModule, subclass_mode_model=True, args=args, run=False,
                       auto_configure_optimizers=False, save_config_callback=None,
                       parser_kwargs=parser_kwargs("sr-zoo fit"), trainer_defaults={"logger": False})
    print(schedule_table(cli.model, cli.datamodule, cli.trainer))
    return 0


def parser_kwargs(prog: str) -> dict[str, Any]:
    """LightningCLI's parser arguments: its errors raised (``one_line_parse_errors``), not printed after a page
    of usage, for the main parser and every subcommand's."""
    return {"prog": prog, "exit_on_error": False, **{sub: {"exit_on_error": False} for sub in SUBCOMMANDS}}


@contextlib.contextmanager
def one_line_parse_errors(command: str) -> Iterator[None]:
    """A jsonargparse error (an unknown key in a recipe, a value of the wrong type) as the zoo's one line,
    naming the key and pointing at the usage; ``--help`` still prints it whole."""
    try:
        yield
    except ArgumentError as exc:
        text = " ".join(str(exc).split())
        # A model's init_args: jsonargparse tries every subtype of the Union (the class, None) and reports both.
        found = re.search(r"Problem with given class_path '([\w.]+)': (.*?)(?: - Expected a <class 'NoneType'>.*)?$",
                          text)
        if found:
            text = f"--model {found.group(1).rsplit('.', 1)[-1]}: {found.group(2)}"
        raise SRZooError(f"{text} (see {command} --help)") from None


if __name__ == "__main__":
    from sr_zoo.cli import main

    sys.exit(main(sys.argv[1:]))
