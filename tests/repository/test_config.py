import json
from dataclasses import replace

import pytest

from repository_server.repository import SchemaError, parse_config
from repository_server.repository.config import config_to_json
from repository_server.repository.policy import DEFAULT_POLICY, LatestPolicy


def parse(document, folder="mlp"):
    return parse_config(json.dumps(document), folder)


FULL = {
    "name": "mlp",
    "backend": "onnxruntime",
    "max_batch_size": 8,
    "input": [{"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [4]}],
    "output": [
        {"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": [3], "label_filename": "labels.txt"}
    ],
    "version_policy": {"latest": {"num_versions": 2}},
    "instance_group": [{"kind": "KIND_CPU", "count": 2}],
    "dynamic_batching": {"max_queue_delay_microseconds": 100, "preferred_batch_size": [4, 8]},
    "parameters": {"intra_op_thread_count": {"string_value": "1"}, "job_queue_size": "5"},
}


def test_full_config_is_read():
    config = parse(FULL)
    assert config.backend == "onnxruntime"
    assert config.max_batch_size == 8
    assert config.inputs[0].datatype == "FP32" and config.inputs[0].dims == (4,)
    assert config.outputs[0].label_filename == "labels.txt"
    assert config.version_policy == LatestPolicy(2)
    assert config.instance_group.count == 2 and config.instance_group.kind == "KIND_CPU"
    assert config.dynamic_batching.preferred_batch_size == (4, 8)
    assert config.parameters == {"intra_op_thread_count": "1", "job_queue_size": "5"}
    assert config.integer_parameter("job_queue_size", 100) == 5


def test_spec_prepends_batch_dimension():
    spec = parse(FULL).spec()
    assert spec.inputs[0].shape == (-1, 4)
    assert spec.outputs[0].shape == (-1, 3)
    assert spec.device_kind == "KIND_CPU"
    unbatched = parse({"input": [{"name": "x", "data_type": "TYPE_INT64", "dims": [2, 2]}]}).spec()
    assert unbatched.inputs[0].shape == (2, 2)
    assert unbatched.inputs[0].datatype == "INT64"


def test_empty_config_takes_defaults():
    config = parse({})
    assert config.name == "mlp"
    assert config.max_batch_size == 0
    assert config.version_policy is None


def test_platform_names_the_backend():
    assert parse({"platform": "onnxruntime_onnx"}).backend == "onnxruntime"
    assert parse({"platform": "pytorch_libtorch"}).backend == "pytorch"
    assert parse({"backend": "torch"}).backend == "pytorch"


def test_instance_groups_add_up():
    config = parse({"instance_group": [{"count": 2}, {"count": 3}]})
    assert config.instance_group.count == 5


def test_reload_key_ignores_instance_group_and_policy():
    changed = dict(FULL, instance_group=[{"count": 4}], version_policy={"all": {}})
    assert parse(FULL).reload_key() == parse(changed).reload_key()
    assert parse(FULL).reload_key() != parse(dict(FULL, max_batch_size=4)).reload_key()


def test_triton_json_form_reads_back():
    document = config_to_json(parse(FULL), "onnxruntime", DEFAULT_POLICY)
    assert document["platform"] == "onnxruntime_onnx"
    assert document["input"][0] == {
        "name": "INPUT0",
        "data_type": "TYPE_FP32",
        "format": "FORMAT_NONE",
        "dims": [4],
        "is_shape_tensor": False,
        "allow_ragged_batch": False,
        "optional": False,
    }
    read_back = parse(document)
    assert read_back.platform == "onnxruntime_onnx"
    assert read_back.default_model_filename == "model.onnx"
    original = replace(
        parse(FULL), platform="onnxruntime_onnx", default_model_filename="model.onnx"
    )
    assert read_back == original


def test_a_config_as_triton_prints_it_is_read():
    # Triton's GET .../config of an ONNX model (24.03), with every default-valued field.
    printed = {
        "name": "mlp",
        "platform": "onnxruntime_onnx",
        "backend": "onnxruntime",
        "runtime": "",
        "version_policy": {"latest": {"num_versions": 1}},
        "max_batch_size": 8,
        "input": [
            {
                "name": "INPUT0",
                "data_type": "TYPE_FP32",
                "format": "FORMAT_NONE",
                "dims": [4],
                "is_shape_tensor": False,
                "allow_ragged_batch": False,
                "optional": False,
            }
        ],
        "output": [
            {
                "name": "OUTPUT0",
                "data_type": "TYPE_FP32",
                "dims": [4],
                "label_filename": "",
                "is_shape_tensor": False,
            }
        ],
        "batch_input": [],
        "batch_output": [],
        "optimization": {
            "priority": "PRIORITY_DEFAULT",
            "input_pinned_memory": {"enable": True},
            "output_pinned_memory": {"enable": True},
            "gather_kernel_buffer_threshold": 0,
            "eager_batching": False,
        },
        "dynamic_batching": {
            "preferred_batch_size": [4],
            "max_queue_delay_microseconds": 100,
            "preserve_ordering": False,
            "priority_levels": 0,
            "default_priority_level": 0,
            "priority_queue_policy": {},
        },
        "instance_group": [
            {
                "name": "mlp",
                "kind": "KIND_CPU",
                "count": 2,
                "gpus": [],
                "secondary_devices": [],
                "profile": [],
                "passive": False,
                "host_policy": "",
            }
        ],
        "default_model_filename": "model.onnx",
        "cc_model_filenames": {},
        "metric_tags": {},
        "parameters": {},
        "model_warmup": [],
        "model_transaction_policy": {"decoupled": False},
        "response_cache": {"enable": False},
    }
    config = parse(printed)
    assert config.max_batch_size == 8
    assert config.instance_group.count == 2
    assert config.dynamic_batching.max_queue_delay_microseconds == 100
    assert config_to_json(config, "onnxruntime", DEFAULT_POLICY)["response_cache"] == {
        "enable": False
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"max_batch_size": -1}, "max_batch_size: -1 is less than the minimum of 0"),
        ({"max_batch_size": "8"}, "max_batch_size: '8' is not of type 'integer'"),
        # A whole number written as a float is refused as Triton's and OVMS's parsers do.
        ({"max_batch_size": 8.0}, "max_batch_size: 8.0 is not of type 'integer'"),
        (
            {"instance_group": [{"kind": "KIND_CPU", "count": 2.0}]},
            "instance_group[0].count: 2.0 is not of type 'integer'",
        ),
        ({"inputs": []}, "unknown field 'inputs'"),
        ({"name": "other"}, "name: 'other' differs from the model folder name 'mlp'"),
        (
            {"input": [{"name": "x", "data_type": "FP32", "dims": [1]}]},
            "input[0].data_type: 'FP32' is not one of",
        ),
        (
            {"input": [{"name": "x", "data_type": "TYPE_FP32"}]},
            "input[0]: 'dims' is a required property",
        ),
        (
            {"input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [-2]}]},
            "input[0].dims[0]: -2 is less than the minimum of -1",
        ),
        (
            {"input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [1], "shape": [1]}]},
            "input[0]: unknown field 'shape'",
        ),
        (
            {
                "input": [
                    {"name": "x", "data_type": "TYPE_FP32", "dims": [1], "is_shape_tensor": True}
                ]
            },
            "input[0].is_shape_tensor: False was expected",
        ),
        (
            {
                "input": [
                    {"name": "x", "data_type": "TYPE_FP32", "dims": [1]},
                    {"name": "x", "data_type": "TYPE_FP32", "dims": [1]},
                ]
            },
            "input: 'x' appears more than once",
        ),
        (
            {
                "output": [
                    {"name": "y", "data_type": "TYPE_FP32", "dims": [1], "label_filename": "../l"}
                ]
            },
            "output[0].label_filename: '../l' must be a file name in the model folder",
        ),
        (
            {"version_policy": {"latest": {"num_versions": 0}}},
            "version_policy.latest.num_versions: 0 is less than the minimum of 1",
        ),
        ({"version_policy": {}}, "version_policy: a version policy has exactly one of"),
        (
            {"instance_group": [{"count": 0}]},
            "instance_group[0].count: 0 is less than the minimum of 1",
        ),
        (
            {"instance_group": [{"kind": "KIND_TPU"}]},
            "instance_group[0].kind: 'KIND_TPU' is not one of",
        ),
        (
            {"instance_group": [{"kind": "KIND_CPU"}, {"kind": "KIND_GPU"}]},
            "instance_group: groups of different kinds are not supported",
        ),
        (
            {"dynamic_batching": {"max_queue_delay_microseconds": -5}},
            "dynamic_batching.max_queue_delay_microseconds: -5 is less than the minimum of 0",
        ),
        (
            {"dynamic_batching": {"priority_levels": 2}},
            "dynamic_batching.priority_levels: 0 was expected",
        ),
        (
            {"model_transaction_policy": {"decoupled": True}},
            "model_transaction_policy.decoupled: False was expected",
        ),
        ({"sequence_batching": {}}, "unknown field 'sequence_batching'"),
        (
            {"instance_group": [{"count": 129}]},
            "instance_group[0].count: 129 is greater than the maximum of 128",
        ),
        (
            {"parameters": {"job_queue_size": "0"}},
            "parameters.job_queue_size: '0' is not an integer >= 1",
        ),
        ({"parameters": {"k": 5}}, "parameters.k: 5 is not valid under any of the given schemas"),
        ({"backend": "tensorflow"}, "backend: 'tensorflow' is not a supported backend"),
        ({"backend": "pytorch", "platform": "onnxruntime_onnx"}, "disagree"),
        (
            {"default_model_filename": "../model.onnx"},
            "default_model_filename: '../model.onnx' must be a file name",
        ),
        ({"model_warmup": [{}]}, "model_warmup: [{}] is expected to be empty"),
    ],
)
def test_invalid_configs_name_the_field(document, message):
    with pytest.raises(SchemaError) as raised:
        parse(document)
    assert message in str(raised.value)


def test_duplicate_keys_are_rejected():
    with pytest.raises(SchemaError, match="duplicate key 'max_batch_size'"):
        parse_config('{"max_batch_size": 1, "max_batch_size": 2}', "mlp")
