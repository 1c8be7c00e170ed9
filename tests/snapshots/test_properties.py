import pytest
from hypothesis import given
from hypothesis import strategies as st

from repository_server.snapshots import (
    PropertiesError,
    format_properties,
    parse_properties,
    read_properties,
)

# What TorchServe's Properties.store writes (the form of logs/config/*-startup.cfg).
TORCHSERVE_WRITTEN = (
    "#Saving snapshot\n"
    "#Tue Jan 05 17:21:47 UTC 2021\n"
    "inference_address=http\\://127.0.0.1\\:8080\n"
    "load_models=mnist\\=mnist.mar\n"
    'model_snapshot={\\n  "name"\\: "20210105172147102-startup.cfg",\\n  "modelCount"\\: 1,\\n'
    '  "models"\\: {}\\n}\n'
    "tsConfigFile=logs/config/20210105172100000-shutdown.cfg\n"
)


def test_reads_what_torchserve_writes():
    properties = parse_properties(TORCHSERVE_WRITTEN)
    assert properties["inference_address"] == "http://127.0.0.1:8080"
    assert properties["load_models"] == "mnist=mnist.mar"
    assert properties["model_snapshot"] == (
        '{\n  "name": "20210105172147102-startup.cfg",\n  "modelCount": 1,\n  "models": {}\n}'
    )
    assert list(properties) == [
        "inference_address",
        "load_models",
        "model_snapshot",
        "tsConfigFile",
    ]


def test_reads_hand_written_config_properties():
    text = (
        "# a comment\n"
        "! also a comment\n"
        "\n"
        "   inference_address = http://0.0.0.0:8080\n"
        "management_address: http://0.0.0.0:8081\n"
        "model_store /models\n"
        "allowed_urls=https://s3.amazonaws.com/.*,\\\n"
        "    https://example.com/.*\n"
        "query=a=b&c=d\n"
        "empty=\n"
        "bare\n"
    )
    assert parse_properties(text) == {
        "inference_address": "http://0.0.0.0:8080",
        "management_address": "http://0.0.0.0:8081",
        "model_store": "/models",
        "allowed_urls": "https://s3.amazonaws.com/.*,https://example.com/.*",
        "query": "a=b&c=d",
        "empty": "",
        "bare": "",
    }


def test_the_last_of_duplicate_keys_wins_as_in_java():
    assert parse_properties("a=1\na=2\n") == {"a": "2"}


def test_crlf_line_ends_and_unicode_escapes():
    assert parse_properties("a=caf\\u00e9\r\nb=\\uD83D\\uDE00\r\n") == {"a": "café", "b": "😀"}


def test_malformed_unicode_escape_names_file_and_line(tmp_path):
    path = tmp_path / "config.properties"
    path.write_text("a=1\nb=\\u12G4\n")
    with pytest.raises(
        PropertiesError, match=r"config\.properties line 2: malformed \\uXXXX escape"
    ):
        read_properties(path)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(PropertiesError, match=r"nope\.properties: cannot read: No such file"):
        read_properties(tmp_path / "nope.properties")


def test_latin1_file_reads_as_java_reads_it(tmp_path):
    path = tmp_path / "config.properties"
    path.write_bytes("name=caf\xe9\n".encode("latin-1"))
    assert read_properties(path) == {"name": "café"}


def test_written_form_is_readable_one_line_per_key():
    text = format_properties(
        {
            "inference_address": "http://127.0.0.1:8080",
            "model_snapshot": '{"models": {"a": {"1": {"x": "=:#!"}}}}',
        },
        comments=["written by a test"],
    )
    assert text == (
        "# written by a test\n"
        "inference_address=http://127.0.0.1:8080\n"
        'model_snapshot={"models": {"a": {"1": {"x": "=:#!"}}}}\n'
    )


def test_written_form_escapes_what_must_be_escaped():
    text = format_properties({"a key:=#": "  two lines\nand\\ café"})
    assert text == "a\\ key\\:\\=\\#=\\ \\ two lines\\nand\\\\ caf\\u00E9\n"
    assert text.isascii()
    assert parse_properties(text) == {"a key:=#": "  two lines\nand\\ café"}


@given(st.dictionaries(st.text(), st.text()))
def test_any_mapping_round_trips(properties):
    text = format_properties(properties)
    assert text.isascii()
    assert parse_properties(text) == properties
