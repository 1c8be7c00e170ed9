"""The README is valid reStructuredText and its Quick start holds exactly the two commands."""

from __future__ import annotations

import io
from pathlib import Path

import docutils.core

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.rst"


def test_readme_renders_without_errors():
    warnings = io.StringIO()
    docutils.core.publish_string(
        README.read_text(),
        writer="null",
        settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": warnings},
    )
    assert warnings.getvalue() == ""


def test_quick_start_has_two_commands_and_ci_runs_the_second():
    text = README.read_text()
    quick_start = text.split("Quick start\n===========\n", 1)[1].split("\n====", 1)[0]
    commands = [line.strip() for line in quick_start.splitlines() if line.startswith("    ")]
    assert len(commands) == 2, commands
    assert "repository-server --model-repository model_repository" in commands[0]
    assert commands[1] == "bash scripts/test"
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()
