"""The `repository-server` command. The only module that exits the process."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import Field
from typing import Any

from repository_server import __version__
from repository_server.errors import ConfigurationError
from repository_server.settings import Settings, flag_name, settings_fields
from repository_server.snapshots import (
    plan_start,
    unpack_missing_archives,
    without_missing_models,
)

logger = logging.getLogger("repository_server")


def _argument_type(settings_field: Field[Any]) -> Any:
    parse = settings_field.metadata["parse"]

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = settings_field.name  # argparse names it in "invalid ... value"
    return convert


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repository-server",
        description="Serve the models of a model repository over the Open Inference Protocol "
        "(KServe v2, Triton's extensions) and TorchServe's management API.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    for settings_field in settings_fields():
        metadata = settings_field.metadata
        names = [flag_name(settings_field.name), *metadata["aliases"]]
        options: dict[str, Any] = {
            "dest": settings_field.name,
            "help": f"{metadata['help']} (default: {_shown_default(settings_field.default)})",
            "type": _argument_type(settings_field),
            "metavar": metadata["metavar"],
        }
        if metadata["repeatable"]:
            options["action"] = "append"
        elif settings_field.type == "bool":
            # `--exit-on-error` alone means true; `--strict-readiness=false` turns one off.
            options["nargs"] = "?"
            options["const"] = True
        parser.add_argument(*names, **options)
    return parser


def _shown_default(value: Any) -> str:
    if isinstance(value, tuple):
        return "none" if not value else ", ".join(map(str, value))
    return "none" if value is None else str(value)


def parse_command_line(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The settings given on the command line, and only those (flags left out are absent)."""
    given = vars(build_parser().parse_args(argv))
    return {
        name: tuple(value) if isinstance(value, list) else value for name, value in given.items()
    }


def build_settings(given: Mapping[str, Any], underlay: Mapping[str, Any] | None = None) -> Settings:
    """Command-line values win over `underlay` (a config file or snapshot), which wins over
    the defaults."""
    settings = Settings(**{**(underlay or {}), **given})
    settings.check()
    return settings


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # uvicorn announces each of our three servers; the server logs its own bound addresses.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    given = parse_command_line(argv)
    try:
        # Reading the snapshots may warn before the level (maybe in a snapshot) is known.
        configure_logging("info")
        plan = plan_start(given)
        settings = build_settings(plan.command_line, plan.underlay)
        logging.getLogger().setLevel(settings.log_level.upper())
        plan.log(logger)
        unpack_missing_archives(settings, plan)
        settings = without_missing_models(settings, plan)
        from repository_server.server import run

        return run(settings, given, plan)
    except ConfigurationError as error:
        print(f"repository-server: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
