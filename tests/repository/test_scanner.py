import logging
import os
import shutil

import pytest

from repository_server.repository import RepositoryScanner


def scan(tree):
    return RepositoryScanner(tree.root).scan()


def test_model_with_versions_and_detected_backend(tree):
    tree.version("mlp", "1")
    tree.version("mlp", "2")
    model = scan(tree).models["mlp"]
    assert sorted(model.versions) == [1, 2]
    assert model.backend == "onnxruntime"
    assert model.problem is None
    assert model.config is not None and model.config.name == "mlp"


@pytest.mark.parametrize("folder", ["1", "12", "100"])
def test_valid_version_folder_names(tree, folder):
    tree.version("m", folder)
    assert list(scan(tree).models["m"].versions) == [int(folder)]


@pytest.mark.parametrize(
    "folder",
    [
        "0",
        "01",
        "007",
        "v2",
        "2_backup",
        "3.old",
        "-1",
        "1 ",
        "9223372036854775808",
        "99999999999999999999",
    ],
)
def test_invalid_version_folder_names_are_ignored(tree, folder):
    tree.version("m", "1")
    tree.version("m", folder)
    assert list(scan(tree).models["m"].versions) == [1]


def test_the_largest_int64_is_still_a_version(tree):
    tree.version("m", "9223372036854775807")
    assert list(scan(tree).models["m"].versions) == [2**63 - 1]


def test_ignored_folder_is_logged_once_not_every_scan(tree, caplog):
    tree.version("m", "1")
    tree.version("m", "v2")
    scanner = RepositoryScanner(tree.root)
    with caplog.at_level(logging.WARNING):
        scanner.scan()
        scanner.scan()
    messages = [r.getMessage() for r in caplog.records if "m/v2" in r.getMessage()]
    assert len(messages) == 1
    assert "positive integer without leading zeros" in messages[0]


def test_hidden_folders_and_files_are_ignored(tree):
    tree.version("m", "1")
    tree.version("m", ".3.tmp")
    tree.version(".hidden_model", "1")
    (tree.root / "m" / "1" / ".DS_Store").write_bytes(b"x")
    state = scan(tree)
    assert list(state.models) == ["m"]
    assert list(state.models["m"].versions) == [1]
    assert state.models["m"].versions[1].file_names == frozenset({"model.onnx"})


def test_python_byte_code_folder_is_not_a_model(tree, caplog):
    tree.version("m", "1")
    (tree.root / "__pycache__").mkdir()
    (tree.root / "__pycache__" / "make_models.cpython-311.pyc").write_bytes(b"pyc")
    state = scan(tree)
    assert list(state.models) == ["m"]
    assert "__pycache__" not in caplog.text


def test_atomic_rename_of_hidden_folder_publishes_the_version(tree):
    tree.version("m", "1")
    scanner = RepositoryScanner(tree.root)
    staged = tree.version("m", ".3.tmp")
    assert 3 not in scanner.scan().models["m"].versions
    staged.rename(tree.root / "m" / "3")
    version = scanner.scan().models["m"].versions[3]
    assert version.file_names == frozenset({"model.onnx"})


def test_model_without_version_folder_is_reported_not_dropped(tree):
    (tree.root / "empty").mkdir()
    tree.version("odd", "v1")
    state = scan(tree)
    for name in ("empty", "odd"):
        assert state.models[name].versions == {}
        assert "no version folder found" in state.models[name].problem


def test_version_without_model_file_is_reported(tree):
    tree.version("m", "1", {"notes.txt": b"hello"})
    model = scan(tree).models["m"]
    assert model.backend is None
    assert model.problem == (
        "m/1: no model file found; expected model.onnx, model.xml + model.bin, model.pt, model.pt2"
    )


def test_invalid_config_beside_a_valid_model(tree):
    tree.version("good", "1")
    tree.version("bad", "1")
    tree.config("bad", {"max_batch_size": -1})
    state = scan(tree)
    assert state.models["good"].problem is None
    assert state.models["bad"].config is None
    assert state.models["bad"].problem == (
        "bad/config.json: max_batch_size: -1 is less than the minimum of 0"
    )


def test_config_name_must_match_folder(tree):
    tree.version("m", "1")
    tree.config("m", {"name": "other"})
    assert scan(tree).models["m"].problem == (
        "m/config.json: name: 'other' differs from the model folder name 'm'"
    )


def test_config_that_is_not_json_names_the_file(tree):
    tree.version("m", "1")
    tree.config("m", "{not json")
    problem = scan(tree).models["m"].problem
    assert problem.startswith("m/config.json: invalid JSON: ")


def test_label_file_named_by_config_must_exist(tree):
    tree.version("m", "1")
    tree.config(
        "m",
        {
            "output": [
                {"name": "P", "data_type": "TYPE_FP32", "dims": [3], "label_filename": "l.txt"}
            ]
        },
    )
    assert "label_filename 'l.txt' is not in the model folder" in scan(tree).models["m"].problem
    (tree.root / "m" / "l.txt").write_text("a\nb\nc\n")
    assert scan(tree).models["m"].problem is None


@pytest.mark.parametrize(
    ("files", "backend"),
    [
        ({"model.onnx": b"x"}, "onnxruntime"),
        ({"model.pt": b"x"}, "pytorch"),
        ({"model.pt2": b"x"}, "pytorch"),
        ({"model.xml": b"x", "model.bin": b"x"}, "openvino"),
    ],
)
def test_backend_detected_from_files(tree, files, backend):
    tree.version("m", "1", files)
    assert scan(tree).models["m"].backend == backend


def test_ir_xml_without_bin_is_not_a_model(tree):
    tree.version("m", "1", {"model.xml": b"x"})
    assert scan(tree).models["m"].backend is None


def test_backend_detected_from_newest_version_with_model_files(tree):
    tree.version("m", "1", {"model.pt": b"x"})
    tree.version("m", "2", {"model.onnx": b"x"})
    tree.version("m", "3", {"partial.tmp": b"x"})  # still being copied
    assert scan(tree).models["m"].backend == "onnxruntime"


def test_config_backend_wins_over_detection(tree):
    tree.version("m", "1", {"model.onnx": b"x"})
    tree.config("m", {"backend": "openvino"})
    assert scan(tree).models["m"].backend == "openvino"


def test_invalid_model_folder_names_are_ignored(tree):
    tree.version("good-name_1.0", "1")
    tree.version("has space", "1")
    assert list(scan(tree).models) == ["good-name_1.0"]


def test_files_at_repository_root_are_ignored(tree):
    tree.version("m", "1")
    (tree.root / "README.md").write_text("hi")
    assert list(scan(tree).models) == ["m"]


def test_missing_repository_is_reported(tmp_path):
    state = RepositoryScanner(tmp_path / "nowhere").scan()
    assert state.models == {}
    assert "cannot read the model repository" in state.problem


class TestFingerprints:
    def test_stable_across_scans(self, tree):
        tree.version("m", "1")
        tree.config("m", {"max_batch_size": 4})
        scanner = RepositoryScanner(tree.root)
        first, second = scanner.scan().models["m"], scanner.scan().models["m"]
        assert first.versions[1].fingerprint == second.versions[1].fingerprint
        assert first.files_fingerprint == second.files_fingerprint

    def test_rewritten_version_file_changes_only_that_version(self, tree):
        tree.version("m", "1")
        path = tree.version("m", "2")
        scanner = RepositoryScanner(tree.root)
        before = scanner.scan().models["m"]
        (path / "model.onnx").write_bytes(b"a different model")
        after = scanner.scan().models["m"]
        assert after.versions[2].fingerprint != before.versions[2].fingerprint
        assert after.versions[1].fingerprint == before.versions[1].fingerprint

    def test_same_size_rewrite_with_new_mtime_changes_fingerprint(self, tree):
        path = tree.version("m", "1", {"model.onnx": b"aaaa"})
        scanner = RepositoryScanner(tree.root)
        before = scanner.scan().models["m"].versions[1].fingerprint
        (path / "model.onnx").write_bytes(b"bbbb")
        stat = (path / "model.onnx").stat()
        os.utime(path / "model.onnx", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        assert scanner.scan().models["m"].versions[1].fingerprint != before

    def test_file_added_in_subfolder_changes_fingerprint(self, tree):
        path = tree.version("m", "1")
        scanner = RepositoryScanner(tree.root)
        before = scanner.scan().models["m"].versions[1]
        (path / "assets").mkdir()
        (path / "assets" / "vocab.txt").write_text("x")
        after = scanner.scan().models["m"].versions[1]
        assert after.fingerprint != before.fingerprint
        assert after.file_count == before.file_count + 1

    def test_config_touch_changes_nothing_but_an_edit_does(self, tree):
        tree.version("m", "1")
        config = tree.config("m", {"max_batch_size": 4})
        scanner = RepositoryScanner(tree.root)
        before = scanner.scan().models["m"].files_fingerprint
        stat = config.stat()
        os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000))
        assert scanner.scan().models["m"].files_fingerprint == before
        tree.config("m", {"max_batch_size": 8})
        after = scanner.scan().models["m"]
        assert after.files_fingerprint != before
        assert after.config.max_batch_size == 8

    def test_labels_file_edit_changes_model_fingerprint(self, tree):
        tree.version("m", "1")
        (tree.root / "m" / "labels.txt").write_text("cat\ndog\n")
        scanner = RepositoryScanner(tree.root)
        before = scanner.scan().models["m"]
        (tree.root / "m" / "labels.txt").write_text("cat\ndog\nbird\n")
        after = scanner.scan().models["m"]
        assert after.files_fingerprint != before.files_fingerprint
        assert after.versions[1].fingerprint == before.versions[1].fingerprint

    def test_removed_version_disappears(self, tree):
        tree.version("m", "1")
        tree.version("m", "2")
        scanner = RepositoryScanner(tree.root)
        scanner.scan()
        shutil.rmtree(tree.root / "m" / "2")
        assert list(scanner.scan().models["m"].versions) == [1]


def test_scan_model_reads_one_model(tree):
    tree.version("a", "1")
    tree.version("b", "1")
    scanner = RepositoryScanner(tree.root)
    assert scanner.scan_model("a").name == "a"
    assert scanner.scan_model("missing") is None
    assert scanner.scan_model("..") is None


def test_state_is_immutable(tree):
    tree.version("m", "1")
    state = scan(tree)
    with pytest.raises(TypeError):
        state.models["x"] = state.models["m"]
    with pytest.raises(AttributeError):
        state.models["m"].name = "other"
