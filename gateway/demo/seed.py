"""The demo's people and cases (DOMAIN.md): the two bureaus, the Guangxing land dispute that
became a fight in Dalang, and residents of Qianfeng at Dalang's registry windows.

Every identity number here is synthetic (region 511602 or 511603, a birth date, a sequence and
an ISO 7064 MOD 11-2 check character), never a real one.
"""

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from contracts.events.common import Person


@dataclass(frozen=True)
class Bureau:
    """A party to the agreement as the demo shows it: its id, region and names."""

    jurisdiction: str
    domain: str
    zh: str
    en: str
    short: str
    """How the narration names it: `大朗 Dalang`."""


DALANG = Bureau(
    "dongguan-dalang", "dalang", "东莞市公安局大朗分局", "Dongguan PSB Dalang branch", "大朗 Dalang"
)
QIANFENG = Bureau(
    "guangan-qianfeng",
    "qianfeng",
    "广安市公安局前锋区分局",
    "Guang'an PSB Qianfeng branch",
    "前锋 Qianfeng",
)
AGREEMENT_ID = "dalang-qianfeng"

DISPUTE_ID, MEDIATION_ID = "DL-2022-0001", "LM-2022-0001"
LAO_HUANG = Person(
    name="老黄",
    home_jurisdiction=QIANFENG.jurisdiction,
    id_number="511603196803120015",
    phone="13800000001",
    address="广兴镇 Guangxing town",
)
LAO_CHENG = Person(
    name="老程", home_jurisdiction=QIANFENG.jurisdiction, id_number="511603197006050020"
)
ASSISTANT = {"name": "Police assistant Tang", "home_jurisdiction": QIANFENG.jurisdiction}
GUANGXING_OFFICER = {
    "name": "Officer Li, Guangxing station",
    "home_jurisdiction": "guangan-qianfeng",
}
FIGHT_TASK = "Investigate the fight at the knitting workshop in Xiangtou village."
LAND_TASK = "With the village cadres, establish who owns the land in Guangxing."
FIGHT_FINDINGS = "老程 struck 老黄 in the workshop; 老黄's medical costs came to 980 yuan."
LAND_FINDINGS = "The land is 老黄's; 老程 had promised at Spring Festival to return it."
OUTCOME: dict[str, Any] = {
    "terms": ["老程 returns the land he promised to return", "老程 pays 老黄's medical costs"],
    "compensation": [
        {
            "payer_name": "老程",
            "payee_name": "老黄",
            "amount_fen": 98_000,
            "purpose": "medical costs",
        }
    ],
}


def dispute_report(**changes: Any) -> dict[str, Any]:
    """The seed case: a land quarrel at home became a fight at work in Dalang."""
    body: dict[str, Any] = {
        "dispute_id": DISPUTE_ID,
        "category": "land",
        "risk": "high",
        "source": "police_assistant",
        "place": "Xiangtou village, Dalang (巷头村)",
        "parties": [
            LAO_HUANG.model_dump(exclude_none=True),
            LAO_CHENG.model_dump(exclude_none=True),
        ],
        "narrative": "A land quarrel at home at Spring Festival became a fight at work.",
        "occurred_on": "2022-02-10",
    }
    return body | changes


WINDOW = "Xiangtou hometown policing station (巷头乡情警务站)"
WINDOW_CLERK = {"name": "Window clerk Li", "home_jurisdiction": DALANG.jurisdiction}
HOME_CLERK = {"name": "Registry clerk Wu, Qianfeng", "home_jurisdiction": QIANFENG.jurisdiction}


@dataclass(frozen=True)
class Application:
    """One resident's proxy request at Dalang's window, and what Qianfeng's registry does."""

    request_id: str
    service: str
    applicant: str
    id_number: str
    materials: tuple[str, ...]
    promised: tuple[str, ...] = ()
    answer: str = "complete"
    """complete, reject, or open (still being handled when the report is made)."""


APPLICATIONS = (
    Application(
        "DL-REG-0001",
        "id_card_renewal",
        "张秀英 Zhang Xiuying",
        "511602199108150244",
        ("id_card", "household_register", "photo_receipt"),
    ),
    Application(
        "DL-REG-0002",
        "birth_registration",
        "刘强 Liu Qiang",
        "511602198801200575",
        ("birth_medical_certificate", "parents_id_cards", "household_register"),
        promised=("marriage_certificate",),
    ),
    Application(
        "DL-REG-0003",
        "hukou_transfer_in",
        "陈国平 Chen Guoping",
        "511602197511030681",
        ("id_card", "household_register", "residence_proof", "application_form"),
        answer="reject",
    ),
    Application(
        "DL-REG-0004",
        "kinship_certificate",
        "王芳 Wang Fang",
        "511602199304120720",
        ("id_card", "household_register", "purpose_statement"),
        answer="open",
    ),
)


def scan(material: str) -> dict[str, str]:
    """A material as the window uploads it: its code and a (stand-in) scan, base64."""
    content = f"scan of {material}".encode()
    return {"material": material, "content_base64": base64.b64encode(content).decode()}


def filing(application: Application, today: date) -> dict[str, Any]:
    """The request body Dalang's window clerk files for `application`."""
    applicant = {
        "name": application.applicant,
        "home_jurisdiction": QIANFENG.jurisdiction,
        "id_number": application.id_number,
        "phone": "13900000000",
        "address": "前锋区 Qianfeng district, Guang'an",
    }
    promised_on = (today + timedelta(days=7)).isoformat()
    return {
        "request_id": application.request_id,
        "service_code": application.service,
        "applicant": applicant,
        "window_name": WINDOW,
        "responsible_clerk": WINDOW_CLERK,
        "files": [scan(m) for m in application.materials],
        "promised": [{"name": m, "promised_on": promised_on} for m in application.promised],
    }
