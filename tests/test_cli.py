import os
import subprocess
import sys

import pytest

from repository_server.cli import build_settings, parse_command_line
from repository_server.errors import ConfigurationError
from repository_server.repository import LatestPolicy
from repository_server.settings import ControlMode


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "repository_server", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_invalid_version_policy_stops_the_server_quoting_the_json():
    result = run_cli("--model-version-policy", '{"latest": {"num_versions": 0}}')
    assert result.returncode == 2
    assert (
        '\'{"latest": {"num_versions": 0}}\' is not a version policy: '
        "latest.num_versions: 0 is less than the minimum of 1"
    ) in result.stderr


def test_duplicate_keys_in_policy_flag_are_refused():
    result = run_cli("--model-version-policy", '{"all": {}, "all": {}}')
    assert result.returncode == 2
    assert "duplicate key 'all'" in result.stderr


def test_load_model_needs_explicit_mode():
    result = run_cli("--load-model", "mlp")
    assert result.returncode == 2
    assert "--load-model requires --model-control-mode explicit" in result.stderr


def test_wildcard_must_stand_alone():
    result = run_cli("--model-control-mode", "explicit", "--load-model", "*", "--load-model", "a")
    assert result.returncode == 2
    assert "'*' loads every model and must be the only --load-model" in result.stderr


def test_unknown_control_mode_is_named():
    result = run_cli("--model-control-mode", "sometimes")
    assert result.returncode == 2
    assert "expected none, poll or explicit, got 'sometimes'" in result.stderr


def test_command_line_values_and_only_those_are_given():
    given = parse_command_line(
        [
            "--model-control-mode",
            "EXPLICIT",
            "--load-model",
            "a",
            "--load-model",
            "b",
            "--model-version-policy",
            '{"latest": {"num_versions": 3}}',
            "--strict-readiness=false",
            "--exit-on-error",
        ]
    )
    assert given == {
        "model_control_mode": ControlMode.EXPLICIT,
        "load_model": ("a", "b"),
        "model_version_policy": LatestPolicy(3),
        "strict_readiness": False,
        "exit_on_error": True,
    }


def test_command_line_wins_over_underlay_which_wins_over_defaults():
    settings = build_settings({"http_port": 9000}, {"http_port": 7000, "management_port": 7001})
    assert (settings.http_port, settings.management_port, settings.metrics_port) == (
        9000,
        7001,
        8082,
    )
    assert settings.host == "127.0.0.1"


def test_ports_must_differ():
    with pytest.raises(ConfigurationError, match="must differ"):
        build_settings({"http_port": 9000, "management_port": 9000})


def test_folder_flags_that_name_no_folder_stop_the_start(tmp_path):
    (tmp_path / "repository").mkdir()
    empty = run_cli("--model-repository", "")
    assert empty.returncode == 2
    assert "an empty path names no folder" in empty.stderr
    store = run_cli(
        "--model-repository", str(tmp_path / "repository"), "--model-store", str(tmp_path / "no")
    )
    assert store.returncode == 2
    assert f"--model-store: '{tmp_path / 'no'}' is not a folder" in store.stderr


def test_a_snapshot_folder_that_is_a_file_is_one_clear_line(tmp_path):
    (tmp_path / "repository").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "config").write_text("not a folder")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "repository_server",
            "--model-repository",
            str(tmp_path / "repository"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "LOG_LOCATION": str(tmp_path / "logs")},
    )
    assert result.returncode == 2
    assert "cannot be read as a folder" in result.stderr
    assert "--no-config-snapshots" in result.stderr
    assert "Traceback" not in result.stderr
