"""Agreement files are read as YAML 1.2 core schema, so Java or Go readers get the same values."""

import pytest

from contracts.agreement import AgreementFileError, parse_document


def test_yaml_1_1_spellings_stay_what_yaml_1_2_reads():
    document = parse_document("a: yes\nb: on\nc: 0755\nd: 1_000\ne: 2022-03-01\nf: <<\n")

    assert document == {"a": "yes", "b": "on", "c": 755, "d": "1_000", "e": "2022-03-01", "f": "<<"}


def test_core_schema_numbers_booleans_and_nulls_are_typed():
    document = parse_document("a: 0o17\nb: 0x1f\nc: -12\nd: 1.5e3\ne: ~\nf:\ng: True\nh: false\n")

    assert document == {"a": 15, "b": 31, "c": -12, "d": 1500.0, "e": None, "f": None} | {
        "g": True,
        "h": False,
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: .inf\n", "a: inf is not a JSON number"),
        ("1: x\n", "(top): key 1 is not a string (quote it)"),
        ("a: 9007199254740993\n", "a: 9007199254740993 is larger than JSON carries exactly"),
        ("a: [!!binary aGVsbG8=]\n", "a.0: a bytes is not a JSON value"),
    ],
)
def test_values_json_cannot_carry_are_refused_with_where_they_are(text, reason):
    with pytest.raises(AgreementFileError) as caught:
        parse_document(text)

    assert str(caught.value) == reason


def test_a_key_repeated_in_one_mapping_is_refused_with_its_position():
    # PyYAML keeps the last `id`; a YAML 1.2 reader in Go refuses the file. A signed text must
    # not say one thing to one party's reader and another to the other's.
    with pytest.raises(AgreementFileError) as caught:
        parse_document("id: a\nparties:\n  - id: x\n    id: y\n")

    assert str(caught.value) == (
        "not valid YAML: line 4, column 5: found duplicate key 'id' (while constructing a mapping)"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: !!int 0b101\n", "line 1, column 4: '0b101' is not a !!int"),
        ("a: !!float abc\n", "line 1, column 4: 'abc' is not a !!float"),
        ("a: !!bool maybe\n", "line 1, column 4: 'maybe' is not a !!bool"),
        ("a: !!timestamp nope\n", "line 1, column 4: 'nope' is not a !!timestamp"),
        ("a: &loop [*loop]\n", "nested too deeply, or an alias holds itself"),
        ("a: " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply, or an alias holds itself"),
    ],
)
def test_yaml_no_json_value_can_be_read_from_is_refused_not_a_crash(text, reason):
    with pytest.raises(AgreementFileError) as caught:
        parse_document(text)

    assert str(caught.value) == f"not valid YAML: {reason}"
