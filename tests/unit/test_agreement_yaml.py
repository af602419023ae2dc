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
