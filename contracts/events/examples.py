"""One example of every event contract: the seed case of DOMAIN.md, as the JSON `data` travels
once personal fields are opened. The schemas carry them (`examples`), and tests check each one
against its model and its schema. Identity numbers are synthetic (valid ISO 7064 check digit).
"""

from typing import Any

from contracts.events import bus, disputes, mediation, registry, reports
from contracts.events.base import EventData

DALANG, QIANFENG = "dongguan-dalang", "guangan-qianfeng"
LAO_HUANG = {
    "name": "老黄",
    "home_jurisdiction": QIANFENG,
    "id_number": "511603196803120015",
    "phone": "13800000001",
    "address": "广兴镇某村 (Guangxing town)",
}
LAO_CHENG = {"name": "老程", "home_jurisdiction": QIANFENG, "id_number": "511603197006050020"}
ASSISTANT = {"name": "Police assistant Tang", "home_jurisdiction": QIANFENG, "phone": "13800000003"}
OFFICER = {"name": "Officer Li", "home_jurisdiction": QIANFENG}
CLERK = {"name": "Clerk Chen", "home_jurisdiction": DALANG}
OUTCOME = {
    "terms": ["老黄 returns the land he promised to return", "老程 pays the medical costs"],
    "compensation": [
        {
            "payer_name": "老程",
            "payee_name": "老黄",
            "amount_fen": 98_000,
            "purpose": "medical costs",
        }
    ],
}
OUTCOME_DIGEST = "ef7eb04b9a2279fa5ff3d7b68ac71a9746f74b4eb42fa451d7b53acf857bdb17"
HEAD = "5f0c6a2a41f1b1c3a1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778a"
FIGURES = {
    "disputes": {
        "reported": 120,
        "resolved": 117,
        "by_category": {"land": 20, "wages_labour": 45, "neighbour": 30, "debt": 25},
        "by_level": {"1": 80, "2": 32, "3": 6, "4": 1, "5": 1},
        "by_risk": {"low": 90, "medium": 25, "high": 5},
        "by_outcome": {"mediated_agreement": 110, "referred_to_court": 7},
        "resolution_rate_bp": 9750,
        "median_days_to_resolution": 3.5,
        "compensation_total_fen": 4_700_000,
    },
    "mediations": {"opened": 14, "closed": 12},
    "proxy_requests": {
        "by_service": {
            "id_card_renewal": {"completed": 40, "accepted": 3},
            "birth_registration": {"completed": 9, "rejected": 1},
        },
        "on_time_rate_bp": 10_000,
        "travel_cost_avoided_fen": 3_724_000,
    },
    "open_items": [{"kind": "dispute", "case_id": "DL-2026-0311", "opened_on": "2026-06-20"}],
    "chain_heads": [
        {"sender": DALANG, "recipient": QIANFENG, "up_to_seq": 912, "chain_head": HEAD},
        {"sender": QIANFENG, "recipient": DALANG, "up_to_seq": 640, "chain_head": HEAD[::-1]},
    ],
}
FIGURES_DIGEST = "d0bcd89d5e1e6398a13f395b1abceeddb1221053f09e7a59218fc977f196c330"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

EXAMPLES: dict[type[EventData], dict[str, Any]] = {
    disputes.DisputeReportedV1: {
        "dispute_id": "DL-2022-0001",
        "reported_in": DALANG,
        "category": "land",
        "risk": "medium",
        "level": 2,
        "source": "police_assistant",
        "place": "Xiangtou village, Dalang (巷头村)",
        "parties": [LAO_HUANG, LAO_CHENG],
        "narrative": "A quarrel over land at home at Spring Festival became a fight at work.",
        "occurred_on": "2022-02-10",
    },
    disputes.DisputeRegradedV1: {
        "dispute_id": "DL-2022-0001",
        "previous_risk": "medium",
        "risk": "high",
        "reason": "Threats repeated after the fight; risk of 民转刑.",
        "regraded_on": "2022-02-11",
    },
    disputes.DisputeEscalatedV1: {
        "dispute_id": "DL-2022-0001",
        "previous_level": 2,
        "level": 5,
        "reason": "Land ownership must be established at home.",
        "escalated_on": "2022-02-12",
        "departments": ["Guangxing town police station", "Guangxing village committee"],
    },
    disputes.DisputeResolvedV1: {
        "dispute_id": "DL-2022-0001",
        "level": 5,
        "outcome": "mediated_agreement",
        "terms": OUTCOME["terms"],
        "compensation_fen": 98_000,
        "mediator": ASSISTANT,
        "mediation_id": "LM-2022-0001",
        "resolved_on": "2022-02-20",
    },
    disputes.DisputeClosedV1: {
        "dispute_id": "DL-2022-0001",
        "closure": "resolved",
        "closed_by": DALANG,
        "closed_on": "2022-03-20",
    },
    mediation.MediationRequestedV1: {
        "mediation_id": "LM-2022-0001",
        "dispute_id": "DL-2022-0001",
        "requested_by": DALANG,
        "mediator": ASSISTANT,
        "parties": [LAO_HUANG, LAO_CHENG],
        "category": "land",
        "risk": "high",
        "summary": "Fight in Dalang rooted in a land quarrel in Guangxing.",
        "requested_part": "Establish who owns the disputed land.",
        "reply_by": "2022-02-14",
    },
    mediation.MediationAcceptedV1: {
        "mediation_id": "LM-2022-0001",
        "accepted_by": QIANFENG,
        "officer": OFFICER,
    },
    mediation.MediationDeclinedV1: {
        "mediation_id": "LM-2022-0002",
        "declined_by": QIANFENG,
        "reason": "The parties live in Guixing; Guixing station takes it.",
    },
    mediation.MediationTaskAssignedV1: {
        "mediation_id": "LM-2022-0001",
        "task_id": "LM-2022-0001.T2",
        "assignee_jurisdiction": QIANFENG,
        "description": "With the village cadres, establish who owns the land.",
        "due_on": "2022-02-18",
    },
    mediation.MediationFindingsReportedV1: {
        "mediation_id": "LM-2022-0001",
        "task_id": "LM-2022-0001.T2",
        "reported_by": QIANFENG,
        "findings": "The land belongs to 老黄; 老程 had promised to return it in 2021.",
        "attachments": [{"name": "land-contract.pdf", "sha256": SHA, "size_bytes": 182_044}],
        "reported_on": "2022-02-17",
    },
    mediation.MediationOutcomeProposedV1: {
        "mediation_id": "LM-2022-0001",
        "proposed_by": DALANG,
        "mediator": ASSISTANT,
        "outcome": OUTCOME,
        "terms_digest": OUTCOME_DIGEST,
    },
    mediation.MediationOutcomeSignedV1: {
        "mediation_id": "LM-2022-0001",
        "party_jurisdiction": DALANG,
        "signer": LAO_CHENG,
        "signer_role": "party",
        "terms_digest": OUTCOME_DIGEST,
        "signed_at": "2022-02-20T07:15:00.000Z",
    },
    mediation.MediationClosedV1: {
        "mediation_id": "LM-2022-0001",
        "dispute_id": "DL-2022-0001",
        "closed_by": DALANG,
        "closure": "agreement_signed",
        "terms_digest": OUTCOME_DIGEST,
        "closed_on": "2022-02-20",
    },
    registry.RegistryProxyRequestedV1: {
        "request_id": "DLH-2026-0042",
        "service_code": "id_card_renewal",
        "applicant": LAO_HUANG,
        "requesting_window": {"jurisdiction": DALANG, "name": "Xiangtou hometown policing station"},
        "responsible_clerk": CLERK,
        "materials_supplied": [{"name": "id_card", "sha256": SHA, "size_bytes": 412_330}],
        "materials_promised": [{"name": "household_register", "promised_on": "2026-03-10"}],
        "time_limit_days": 60,
        "delivery": "post",
    },
    registry.RegistryAcceptedV1: {
        "request_id": "DLH-2026-0042",
        "accepted_by": QIANFENG,
        "handling_clerk": {"name": "Clerk Wang", "home_jurisdiction": QIANFENG},
        "due_on": "2026-05-02",
    },
    registry.RegistryMaterialsRequestedV1: {
        "request_id": "DLH-2026-0042",
        "materials": ["photo_receipt"],
        "reason": "The photo receipt is missing.",
        "due_on": "2026-03-15",
    },
    registry.RegistryMaterialsSuppliedV1: {
        "request_id": "DLH-2026-0042",
        "materials": [{"name": "photo_receipt", "sha256": SHA, "size_bytes": 90_112}],
    },
    registry.RegistryCompletedV1: {
        "request_id": "DLH-2026-0042",
        "result_reference": "QF-ID-2026-00917",
        "delivery": "post",
        "tracking_number": "EMS1234567890",
        "completed_on": "2026-03-28",
    },
    registry.RegistryRejectedV1: {
        "request_id": "DLH-2026-0043",
        "reason": "The applicant's household registration is not in Qianfeng.",
        "rejected_on": "2026-03-04",
    },
    registry.RegistryMaterialUploadedV1: {
        "request_id": "DLH-2026-0042",
        "material": "photo_receipt",
        "file_name": "photo-receipt.pdf",
        "media_type": "application/pdf",
        "size_bytes": 21,
        "sha256": "4ca22b0e4f2918b3597a1d01df903fa0f91c84c64e2046538e0bed84af175d4b",
        "chunk_index": 0,
        "chunk_count": 1,
        "chunk": "c2NhbiBvZiBwaG90b19yZWNlaXB0",
    },
    bus.CumulativeReceiptV1: {
        "sender": DALANG,
        "recipient": QIANFENG,
        "up_to_seq": 912,
        "chain_head": HEAD,
        "received_at": "2026-06-30T15:59:59.250Z",
    },
    reports.ReportProposedV1: {
        "report_id": "dalang-qianfeng-2026-H1",
        "agreement_id": "dalang-qianfeng",
        "period": "2026-H1",
        "proposed_by": DALANG,
        "figures": FIGURES,
    },
    reports.ReportCosignedV1: {
        "report_id": "dalang-qianfeng-2026-H1",
        "figures_digest": FIGURES_DIGEST,
        "signed_by": QIANFENG,
        "differences_acknowledged": [
            {
                "figure": "mediations.closed",
                "proposed": 12,
                "counted": 11,
                "explanation": "LM-2026-0107 closed on 30 June in Dalang, 1 July in Qianfeng.",
            }
        ],
    },
}
