import pytest
from hypothesis import given
from hypothesis import strategies as st

from repository_server.repository import (
    AllPolicy,
    LatestPolicy,
    SchemaError,
    SpecificPolicy,
    parse_policy,
)

versions = st.sets(st.integers(min_value=1, max_value=10_000), max_size=30)
policies = st.one_of(
    st.builds(LatestPolicy, st.integers(min_value=1, max_value=40)),
    st.builds(
        SpecificPolicy,
        st.frozensets(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=10),
    ),
    st.just(AllPolicy()),
)


@given(policies, versions)
def test_selection_is_a_subset_of_what_exists(policy, available):
    assert policy.select(available) <= available


@given(st.integers(min_value=1, max_value=40), versions)
def test_latest_picks_the_highest(n, available):
    selected = LatestPolicy(n).select(available)
    assert len(selected) == min(n, len(available))
    assert all(v > u for v in selected for u in available - selected)


@given(versions)
def test_all_picks_everything(available):
    assert AllPolicy().select(available) == available


@given(st.frozensets(st.integers(min_value=1, max_value=10_000), max_size=10), versions)
def test_specific_picks_the_intersection_and_reports_the_rest(wanted, available):
    policy = SpecificPolicy(wanted)
    assert policy.select(available) == wanted & available
    assert policy.missing(available) == wanted - available


@given(policies)
def test_json_round_trip(policy):
    assert parse_policy(str(policy)) == policy


@pytest.mark.parametrize(
    ("policy", "available", "served"),
    [
        # OVMS model_version_policy_test.cpp, available = {3, 4, 5, 18, 25, 100}
        ('{"latest": {"num_versions": 1}}', {3, 4, 5, 18, 25, 100}, {100}),
        ('{"latest": {"num_versions": 2}}', {3, 4, 5, 18, 25, 100}, {100, 25}),
        ('{"latest": {"num_versions": 10}}', {3, 4, 5, 18, 25, 100}, {3, 4, 5, 18, 25, 100}),
        ('{"specific": {"versions": [4, 25]}}', {3, 4, 5, 18, 25, 100}, {4, 25}),
        ('{"specific": {"versions": [4, 5, 6, 7]}}', {3, 4, 5, 18, 25, 100}, {4, 5}),
        ('{"specific": {"versions": [1, 8, 28]}}', {3, 4, 5, 18, 25, 100}, set()),
        ('{"all": {}}', {1, 2, 7}, {1, 2, 7}),
    ],
)
def test_selection_table(policy, available, served):
    assert parse_policy(policy).select(available) == served


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"all": 3}', "all: 3 is not of type 'object'"),
        ('{"all": {"a": 3}}', "all: unknown field 'a'"),
        (
            '{"latest": {"num_versions": [2, 3]}}',
            "latest.num_versions: [2, 3] is not of type 'integer'",
        ),
        ('{"latest": {"num_versions": 0}}', "latest.num_versions: 0 is less than the minimum of 1"),
        ('{"latest": {"num_versions": 1.5}}', "latest.num_versions: 1.5 is not of type 'integer'"),
        ('{"latest": {"num_versions": 2.0}}', "latest.num_versions: 2.0 is not of type 'integer'"),
        # Triton refuses a policy that can select nothing; TF Serving only warns.
        ('{"specific": {"versions": []}}', "specific.versions: [] should be non-empty"),
        (
            '{"specific": {"versions": [1.0, 7]}}',
            "specific.versions[0]: 1.0 is not of type 'integer'",
        ),
        (
            '{"specific": {"versions": [9223372036854775808]}}',
            "specific.versions[0]: 9223372036854775808 is greater than the maximum of "
            "9223372036854775807",
        ),
        ('{"latest": {}}', "latest: 'num_versions' is a required property"),
        ('{"specific": {"versions": 3}}', "specific.versions: 3 is not of type 'array'"),
        (
            '{"specific": {"versions": [1, "2"]}}',
            "specific.versions[1]: '2' is not of type 'integer'",
        ),
        (
            '{"specific": {"versions": [0]}}',
            "specific.versions[0]: 0 is less than the minimum of 1",
        ),
        ('{"all": {}, "all": {}}', "duplicate key 'all'"),
        ('{"latest": {"num_versions": 1, "num_versions": 2}}', "duplicate key 'num_versions'"),
        ('{"specific": {"versions": [1], "versions": [2]}}', "duplicate key 'versions'"),
        ("{}", "a version policy has exactly one of 'latest', 'specific' or 'all'"),
        (
            '{"all": {}, "latest": {"num_versions": 1}}',
            "a version policy has exactly one of 'latest', 'specific' or 'all'",
        ),
        ('{"newest": {}}', "unknown field 'newest'"),
        ("[1]", "[1] is not of type 'object'"),
        ("latest", "invalid JSON: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_invalid_policies_name_the_problem(text, message):
    with pytest.raises(SchemaError) as raised:
        parse_policy(text)
    assert str(raised.value) == message
