import json

import pytest

from repository_server.snapshots import (
    ConfigSnapshot,
    ModelSnapshotEntry,
    SnapshotError,
    parse_snapshot,
)

SETTINGS = {"inference_address": "http://127.0.0.1:8080", "model_control_mode": "explicit"}


def entry(workers: int = 1, **changes) -> ModelSnapshotEntry:
    fields = {"default_version": True, "mar_name": "mlp", "min_workers": workers}
    fields["max_workers"] = workers
    return ModelSnapshotEntry(**{**fields, **changes})


def test_round_trip_keeps_models_versions_workers_and_defaults():
    snapshot = ConfigSnapshot(
        SETTINGS,
        {
            "mlp": {
                1: entry(1, default_version=False),
                2: entry(
                    3, pinned_default=True, batch_size=8, max_batch_delay=5, config_override=True
                ),
            },
            "resnet": {4: entry(2, mar_name="resnet.mar", loaded=False, response_timeout=30)},
        },
    )
    text = snapshot.to_text("20250101120000000-snapshot.cfg", 1735732800000)
    restored = parse_snapshot(text, "a.cfg")
    assert restored.settings == SETTINGS
    assert restored.models == snapshot.models
    assert restored.name == "20250101120000000-snapshot.cfg"
    assert restored.created == 1735732800000
    assert restored.model_count == 3


def test_written_json_has_torchserve_fields_on_one_line():
    snapshot = ConfigSnapshot(SETTINGS, {"mlp": {2: entry(3, pinned_default=True)}})
    lines = snapshot.to_text("x-snapshot.cfg", 5).splitlines()
    assert lines[-1] == "# end of config snapshot"
    key, _, value = lines[-2].partition("=")
    assert key == "model_snapshot"
    assert json.loads(value) == {
        "name": "x-snapshot.cfg",
        "modelCount": 1,
        "created": 5,
        "models": {
            "mlp": {
                "2": {
                    "defaultVersion": True,
                    "marName": "mlp",
                    "minWorkers": 3,
                    "maxWorkers": 3,
                    "batchSize": 1,
                    "maxBatchDelay": 100,
                    "responseTimeout": 120,
                    "loaded": True,
                    "pinnedDefault": True,
                    "configOverride": False,
                }
            }
        },
    }


def test_a_model_deleted_during_the_session_is_simply_absent():
    # Unregistering the last version of a model leaves nothing of it in the next snapshot.
    text = ConfigSnapshot(SETTINGS, {"mlp": {1: entry()}, "gone": {}}).to_text("n", 1)
    assert parse_snapshot(text, "n").models == {"mlp": {1: entry()}, "gone": {}}
    assert ConfigSnapshot(SETTINGS, {}).model_count == 0


def test_reads_torchserve_own_snapshot():
    # Properties.store output: pretty JSON with escaped ':' and newlines, versions like "1.0",
    # fields we do not use (startupTimeout, runtimeType), no end marker.
    text = (
        "#Saving snapshot\n"
        "#Tue Jan 05 17:21:47 UTC 2021\n"
        "load_models=mnist\\=mnist.mar\n"
        'model_snapshot={\\n  "name"\\: "20210105172147102-startup.cfg",\\n  "modelCount"\\: 1,'
        '\\n  "created"\\: 1609847507107,\\n  "models"\\: {\\n    "mnist"\\: {\\n      "1.0"\\: '
        '{\\n        "defaultVersion"\\: true,\\n        "marName"\\: "mnist.mar",\\n        '
        '"minWorkers"\\: 8,\\n        "maxWorkers"\\: 8,\\n        "batchSize"\\: 1,\\n        '
        '"maxBatchDelay"\\: 100,\\n        "startupTimeout"\\: 120,\\n        "runtimeType"\\: '
        '"python"\\n      }\\n    }\\n  }\\n}\n'
    )
    snapshot = parse_snapshot(text, "ts.cfg")
    assert snapshot.models == {
        "mnist": {
            1: ModelSnapshotEntry(
                True,
                "mnist.mar",
                8,
                8,
                1,
                100,
                120,
                True,
                False,
                True,
                (("runtimeType", "python"),),
            )
        }
    }
    assert snapshot.settings == {"load_models": "mnist=mnist.mar"}
    assert snapshot.created == 1609847507107


def test_only_torchserve_files_say_their_batching_came_from_registrations():
    # TorchServe has no configOverride key: its batchSize is what a registration set. Our own
    # files always write it; one written before the key existed means the config file's values.
    ours = ConfigSnapshot(SETTINGS, {"mlp": {1: entry()}}).to_text("n", 1)
    without_key = ours.replace(', "configOverride": false', "")
    assert without_key != ours
    assert parse_snapshot(without_key, "n").models["mlp"][1].config_override is False
    theirs = "\n".join(line for line in without_key.splitlines() if not line.startswith("#"))
    assert parse_snapshot(theirs, "ts.cfg").models["mlp"][1].config_override is True


def test_truncated_file_is_detected_wherever_it_is_cut():
    text = ConfigSnapshot(SETTINGS, {"mlp": {1: entry()}}).to_text("n", 1)
    for cut in range(len(text) - len("\n")):
        with pytest.raises(SnapshotError, match=r"^cut\.cfg: "):
            parse_snapshot(text[:cut], "cut.cfg")
    parse_snapshot(text[:-1], "whole.cfg")  # only the final newline missing: still whole


def test_our_files_need_the_end_marker_even_when_their_json_is_whole():
    text = ConfigSnapshot(SETTINGS, {"mlp": {1: entry()}}).to_text("n", 1)
    with pytest.raises(SnapshotError, match="truncated"):
        parse_snapshot(text.replace("# end of config snapshot\n", ""), "n")


def test_missing_model_snapshot_key():
    with pytest.raises(SnapshotError, match=r"^s\.cfg: no model_snapshot key$"):
        parse_snapshot("a=1\n# end of config snapshot\n", "s.cfg")


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ({"mlp": {"1": {"marName": "m"}}}, "models.mlp.1: defaultVersion is missing"),
        (
            {"mlp": {"1": {**entry().to_json(), "minWorkers": -1}}},
            "models.mlp.1.minWorkers: expected a non-negative integer, got -1",
        ),
        (
            {"mlp": {"1": {**entry().to_json(), "maxWorkers": True}}},
            "models.mlp.1.maxWorkers: expected a non-negative integer, got true",
        ),
        (
            {"mlp": {"1": {**entry().to_json(), "loaded": "yes"}}},
            'models.mlp.1.loaded: expected true or false, got "yes"',
        ),
        ({"mlp": {"1.11": entry().to_json()}}, "version '1.11' is not a positive integer"),
        ({"mlp": {"1": entry().to_json(), "1.0": entry().to_json()}}, "version 1 is given twice"),
        ({"mlp": []}, "models.mlp: expected an object, got []"),
        ({"../etc": {}}, "models: '../etc' is not a model name"),
    ],
)
def test_malformed_model_snapshot_names_file_and_field(models, message):
    document = json.dumps({"name": "n", "modelCount": 1, "created": 1, "models": models})
    text = f"model_snapshot={document}\n# end of config snapshot\n"
    with pytest.raises(SnapshotError) as raised:
        parse_snapshot(text, "bad.cfg")
    assert str(raised.value).startswith("bad.cfg: model_snapshot: ")
    assert message in str(raised.value)


def test_settings_may_not_shadow_the_model_snapshot():
    with pytest.raises(ValueError, match="settings must not hold model_snapshot"):
        ConfigSnapshot({"model_snapshot": "{}"}).to_text("n", 1)
