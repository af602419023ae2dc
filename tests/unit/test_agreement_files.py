"""The agreements shipped in contracts/agreements/ and the demo keys that signed them."""

from datetime import date

import pytest

from contracts import AGREEMENTS_DIR
from contracts.agreement import AgreementBook, load_agreement
from contracts.canonical import sha256_hex
from contracts.keys import public_raw, read_encryption_key, read_signing_key

ON = date(2026, 5, 1)
DEMO_KEYS = AGREEMENTS_DIR.parents[1] / "deploy" / "demo" / "keys"
DALANG, QIANFENG, LONGGANG = "dongguan-dalang", "guangan-qianfeng", "shenzhen-longgang"
EVENT_TYPES = [
    "dispute.reported",
    "dispute.regraded",
    "dispute.escalated",
    "dispute.resolved",
    "dispute.closed",
    "mediation.requested",
    "mediation.accepted",
    "mediation.declined",
    "mediation.task_assigned",
    "mediation.findings_reported",
    "mediation.outcome_proposed",
    "mediation.outcome_signed",
    "mediation.closed",
    "registry.proxy_requested",
    "registry.accepted",
    "registry.materials_requested",
    "registry.materials_supplied",
    "registry.material_uploaded",
    "registry.completed",
    "registry.rejected",
    "bus.receipt",
    "report.proposed",
    "report.cosigned",
]


@pytest.mark.parametrize("name", ["dalang-qianfeng", "qianfeng-prd"])
def test_shipped_agreement_is_in_force_on_2026_05_01(name):
    loaded = load_agreement(AGREEMENTS_DIR / f"{name}.yaml")

    assert loaded.problems(ON) == []


def test_dalang_qianfeng_has_the_signed_catalogue_of_10_categories_and_23_items():
    a = load_agreement(AGREEMENTS_DIR / "dalang-qianfeng.yaml").agreement

    assert (a.effective_from, a.effective_until) == (date(2022, 3, 1), date(2027, 2, 28))
    assert a.reporting_period_months == 6
    assert len(a.categories) == 10
    assert sum(len(c.items) for c in a.categories) == 23
    mapped = {t for c in a.categories for item in c.items for t in item.event_types}
    assert mapped == set(EVENT_TYPES)


def test_dalang_qianfeng_carries_every_event_type_both_ways_with_its_handling_code():
    a = load_agreement(AGREEMENTS_DIR / "dalang-qianfeng.yaml").agreement

    assert [f.type for f in a.flows] == EVENT_TYPES
    for event_type in EVENT_TYPES:
        flow = a.flow(event_type)
        assert flow is not None
        assert flow.permits(DALANG, QIANFENG, 1) and flow.permits(QIANFENG, DALANG, 1)
        assert not flow.permits(DALANG, QIANFENG, 2)
        expected = "H0" if event_type.startswith(("bus.", "report.")) else "H2"
        assert flow.handling == expected, event_type
    assert a.personal_fields("dispute.reported") == [
        "parties[].id_number",
        "parties[].phone",
        "parties[].address",
    ]
    assert a.personal_fields("registry.proxy_requested")[:3] == [
        "applicant.id_number",
        "applicant.phone",
        "applicant.address",
    ]
    assert a.personal_fields("registry.material_uploaded") == ["chunk"]


def test_three_party_agreement_sends_registry_requests_only_to_the_home_registry():
    a = load_agreement(AGREEMENTS_DIR / "qianfeng-prd.yaml").agreement
    request, completed = a.flow("registry.proxy_requested"), a.flow("registry.completed")
    disputes = a.flow("dispute.reported")

    assert [p.id for p in a.parties] == [QIANFENG, DALANG, LONGGANG]
    assert request is not None and completed is not None and disputes is not None
    assert request.permits(LONGGANG, QIANFENG, 1) and request.permits(DALANG, QIANFENG, 1)
    assert not request.permits(QIANFENG, LONGGANG, 1) and not request.permits(DALANG, LONGGANG, 1)
    assert completed.permits(QIANFENG, LONGGANG, 1) and not completed.permits(LONGGANG, QIANFENG, 1)
    assert disputes.permits(LONGGANG, DALANG, 1)


@pytest.mark.parametrize("jurisdiction", [DALANG, QIANFENG, LONGGANG])
def test_demo_private_keys_are_the_halves_of_the_published_keys(jurisdiction):
    a = load_agreement(AGREEMENTS_DIR / "qianfeng-prd.yaml").agreement
    sig = read_signing_key(DEMO_KEYS / f"{jurisdiction}.sig.pem")
    enc = read_encryption_key(DEMO_KEYS / f"{jurisdiction}.enc.pem")

    published = {k.use: k.raw for k in a.parties_keys(jurisdiction)}

    assert published == {"sig": public_raw(sig), "enc": public_raw(enc)}


def test_shipped_directory_is_a_book_with_one_version_in_force_per_agreement():
    book = AgreementBook.from_directory(AGREEMENTS_DIR)

    assert book.ids() == ["dalang-qianfeng", "qianfeng-prd"]
    for agreement_id in book.ids():
        in_force = book.in_force(agreement_id, ON)
        assert in_force is not None and in_force.agreement.version == 1


@pytest.mark.parametrize(
    ("name", "length", "digest"),
    [
        (
            "dalang-qianfeng",
            11324,
            "e9b2c02d08a08a3a238a16b385f43cea9e0518eea12efff9a0a13bd583802775",
        ),
        ("qianfeng-prd", 9137, "31eabfbe1d0b246c5c7bc8881051a9bce31486a6e83a82b495b7cdcddc479ef5"),
    ],
)
def test_signing_bytes_of_shipped_agreements_are_those_docs_agreement_md_publishes(
    name, length, digest
):
    signed = load_agreement(AGREEMENTS_DIR / f"{name}.yaml").signing_bytes()

    assert (len(signed), sha256_hex(signed)) == (length, digest)
