import logging

import pytest

from repository_server.cli import build_settings, parse_command_line
from repository_server.errors import ConfigurationError
from repository_server.settings import ControlMode
from repository_server.snapshots import (
    ConfigSnapshot,
    ModelSnapshotEntry,
    SnapshotError,
    SnapshotStore,
    plan_restore,
    snapshot_settings,
)


def served(workers: int, *, pinned: bool = False, loaded: bool = True) -> ModelSnapshotEntry:
    return ModelSnapshotEntry(True, "m", workers, workers, loaded=loaded, pinned_default=pinned)


def session_snapshot(tmp_path, mode: str = "explicit", **models) -> ConfigSnapshot:
    """What a server that ran with `--http-port 8085 --model-control-mode MODE` would write."""
    repository = str(tmp_path / "models")
    given = parse_command_line(
        ["--model-repository", repository, "--http-port", "8085", "--model-control-mode", mode]
    )
    return ConfigSnapshot(snapshot_settings(build_settings(given)), models)


@pytest.fixture
def store(tmp_path):
    return SnapshotStore(tmp_path / "logs" / "config")


def messages(plan) -> str:
    return "\n".join(message for _, message in plan.messages)


def test_no_flags_restores_the_newest_snapshot(tmp_path, store):
    store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(1)}))
    newest = store.write(
        "shutdown",
        session_snapshot(
            tmp_path,
            mlp={1: served(1), 2: served(3, pinned=True)},
            resnet={4: served(2)},
        ),
    )
    plan = plan_restore({}, None, store)
    assert plan.source == newest
    assert plan.restores_models
    settings = build_settings(plan.command_line, plan.underlay)
    assert settings.http_port == 8085
    assert settings.model_control_mode is ControlMode.EXPLICIT
    assert settings.model_repository == tmp_path / "models"
    # EXPLICIT mode: the usual start path loads what the snapshot had loaded.
    assert settings.load_model == ("mlp", "resnet")
    mlp = plan.models["mlp"]
    assert mlp.workers == {1: 1, 2: 3}
    assert mlp.pinned_default == 2
    assert mlp.loaded_versions == {1, 2}
    assert plan.models["resnet"].pinned_default is None
    text = messages(plan)
    assert f"restoring config snapshot {newest}" in text
    assert "models restored from" in text
    assert "mlp (v1: 1 worker; v2: 3 workers; default 2 pinned), resnet (v4: 2 workers)" in text
    assert "http_port=8085" in text
    assert "model_control_mode=explicit" in text


def test_command_line_wins_and_the_log_says_which_values_came_from_where(tmp_path, store):
    path = store.write("shutdown", session_snapshot(tmp_path, mlp={1: served(1)}))
    given = parse_command_line(["--http-port", "9000", "--model-control-mode", "poll"])
    plan = plan_restore(given, None, store)
    settings = build_settings(plan.command_line, plan.underlay)
    assert settings.http_port == 9000
    assert settings.model_control_mode is ControlMode.POLL
    # Not EXPLICIT: which models are loaded is the repository's business, not the snapshot's.
    assert settings.load_model == ()
    assert settings.model_repository == tmp_path / "models"
    (provenance,) = [m for _, m in plan.messages if m.startswith("settings from")]
    assert f"model_repository={tmp_path / 'models'}" in provenance
    assert "http_port" not in provenance
    assert (
        f"the command line wins over {path.name}: http_port=9000 (file: 8085), "
        "model_control_mode=poll (file: explicit)"
    ) in messages(plan)


def test_load_model_flag_is_ignored_when_restoring(tmp_path, store):
    store.write(
        "snapshot",
        session_snapshot(tmp_path, mlp={1: served(1)}, idle={1: served(1, loaded=False)}),
    )
    given = parse_command_line(["--model-control-mode", "explicit", "--load-model", "other"])
    plan = plan_restore(given, None, store)
    assert "load_model" not in plan.command_line
    assert build_settings(plan.command_line, plan.underlay).load_model == ("mlp",)
    assert "--load-model ignored: restoring" in messages(plan)


def test_load_models_key_of_a_snapshot_is_ignored(tmp_path, store):
    snapshot = session_snapshot(tmp_path, mlp={1: served(2)})
    settings = {**snapshot.settings, "load_models": "resnet"}
    store.write("snapshot", ConfigSnapshot(settings, snapshot.models))
    plan = plan_restore({}, None, store)
    assert plan.underlay["load_model"] == ("mlp",)
    assert "load_models in" in messages(plan)
    assert "ignored: restoring a snapshot" in messages(plan)


def test_ts_config_restores_the_chosen_older_snapshot(tmp_path, store):
    older = store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(4)}))
    store.write("shutdown", session_snapshot(tmp_path, mlp={1: served(1)}))
    plan = plan_restore({}, older, store)
    assert plan.source == older
    assert plan.models["mlp"].workers == {1: 4}
    assert f"restoring --ts-config {older}" in messages(plan)


def test_ts_config_that_is_a_truncated_snapshot_is_an_error(tmp_path, store):
    path = store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(4)}))
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(SnapshotError, match="truncated"):
        plan_restore({}, path, store)


def test_ts_config_missing_is_an_error(tmp_path):
    with pytest.raises(ConfigurationError, match=r"^--ts-config: cannot read '.*nope': No such"):
        plan_restore({}, tmp_path / "nope", None)


def test_plain_config_properties_sets_settings_and_loads_its_models(tmp_path, store):
    store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(4)}))
    config = tmp_path / "config.properties"
    config.write_text(
        "inference_address=http://127.0.0.1:7080\n"
        "management_address=http://127.0.0.1:7081\n"
        "load_models=resnet.mar\n"
        "enable_envvars_config=true\n"
        "install_py_dep_per_model=true\n"
    )
    plan = plan_restore({}, config, store)
    assert not plan.restores_models
    assert plan.models == {}
    settings = build_settings(plan.command_line, plan.underlay)
    assert (settings.http_port, settings.management_port) == (7080, 7081)
    assert settings.model_control_mode is ControlMode.EXPLICIT
    assert settings.load_model == ("resnet",)
    assert f"starting from --ts-config {config}" in messages(plan)
    warnings = [m for level, m in plan.messages if level == logging.WARNING]
    assert warnings == [
        f"{config}: unknown key 'enable_envvars_config' ignored",
        f"{config}: unknown key 'install_py_dep_per_model' ignored",
    ]


def test_load_models_of_a_config_file_give_way_to_a_poll_mode_flag(tmp_path):
    config = tmp_path / "config.properties"
    config.write_text("load_models=all\n")
    given = parse_command_line(["--model-control-mode", "poll"])
    plan = plan_restore(given, config, None)
    assert build_settings(plan.command_line, plan.underlay).load_model == ()
    assert "load_models in" in messages(plan)
    assert "ignored: poll mode loads every model" in messages(plan)


def test_no_config_snapshots_restores_nothing(tmp_path, store):
    store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(4)}))
    given = parse_command_line(["--ncs"])
    plan = plan_restore(given, None, store)
    assert plan.source is None
    assert plan.underlay == {}
    assert plan.models == {}
    assert build_settings(plan.command_line, plan.underlay).no_config_snapshots
    assert "--no-config-snapshots" in messages(plan)


def test_no_config_snapshots_still_reads_a_named_ts_config(tmp_path, store):
    path = store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(4)}))
    plan = plan_restore(parse_command_line(["--ncs"]), path, store)
    assert plan.models["mlp"].workers == {1: 4}


def test_nothing_to_restore_starts_from_the_defaults(store):
    plan = plan_restore({}, None, store)
    assert plan.source is None
    assert plan.underlay == {}
    assert f"no config snapshot in {store.directory}" in messages(plan)


def test_corrupt_newest_snapshot_falls_back_to_the_previous(tmp_path, store, caplog):
    good = store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(2)}))
    bad = store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(3)}))
    bad.write_text('inference_address=http://127.0.0.1:8080\nmodel_snapshot={"mod')
    with caplog.at_level(logging.WARNING):
        plan = plan_restore({}, None, store)
    assert plan.source == good
    assert bad.name in caplog.text


def test_a_model_gone_from_the_repository_is_reported_unavailable(tmp_path, store):
    path = store.write(
        "snapshot", session_snapshot(tmp_path, mlp={1: served(1)}, deleted={2: served(1)})
    )
    plan = plan_restore({}, None, store)
    assert plan.unavailable(["mlp", "resnet"]) == {
        "deleted": f"named by config snapshot {path.name} but not in the model repository"
    }
    assert plan.unavailable(["mlp", "deleted"]) == {}


def test_empty_model_snapshot(tmp_path, store):
    store.write("startup", session_snapshot(tmp_path, mode="poll"))
    plan = plan_restore({}, None, store)
    assert plan.restores_models
    assert plan.models == {}
    assert "load_model" not in plan.underlay
    assert "is empty" in messages(plan)


def test_plan_logs_its_messages(tmp_path, store, caplog):
    store.write("snapshot", session_snapshot(tmp_path, mlp={1: served(1)}))
    plan = plan_restore({}, None, store)
    with caplog.at_level(logging.INFO, logger="restore-test"):
        plan.log(logging.getLogger("restore-test"))
    assert [record.getMessage() for record in caplog.records] == [m for _, m in plan.messages]
