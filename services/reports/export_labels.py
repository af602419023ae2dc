"""How the rendered report names things: Chinese and English labels of categories and statuses,
headline figures in the units a review meeting reads (percent, yuan)."""

from dataclasses import dataclass

from contracts.events.reports import ReportFigures

CATEGORY_LABELS: dict[str, str] = {
    "family_marriage": "婚姻家庭 family/marriage",
    "neighbour": "邻里 neighbour",
    "debt": "债务 debt",
    "land": "土地 land",
    "wages_labour": "劳资 wages/labour",
    "economic": "经济 economic",
    "public_order": "治安 public order",
    "traffic": "交通 traffic",
    "other": "其他 other",
}

STATUS_LABELS: dict[str, str] = {
    "requested": "已受理 requested",
    "accepted": "办理中 accepted",
    "materials_requested": "补材料 materials requested",
    "completed": "已办结 completed",
    "rejected": "不予办理 rejected",
}


def category_label(code: str) -> str:
    """A dispute category as the report prints it (the code itself if unknown)."""
    return CATEGORY_LABELS.get(code, code)


def status_label(code: str) -> str:
    """A proxy request status as the report prints it (the code itself if unknown)."""
    return STATUS_LABELS.get(code, code)


def percent(bp: int) -> str:
    """Basis points as a percentage with two decimals: 9910 -> '99.10%'."""
    return f"{bp // 100}.{bp % 100:02d}%"


def yuan(fen: int) -> str:
    """An amount in fen as yuan with two decimals: 76000 -> '760.00'."""
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True)
class Headline:
    """One headline figure: its label in Chinese and English, and its value as printed."""

    zh: str
    en: str
    value: str


def headlines(figures: ReportFigures) -> list[Headline]:
    """The figures a report leads with, resolution rate first."""
    d, m, p = figures.disputes, figures.mediations, figures.proxy_requests
    filed = sum(sum(counts.values()) for counts in p.by_service.values())
    median_days = "-" if d.median_days_to_resolution is None else f"{d.median_days_to_resolution}"
    return [
        Headline("化解率", "Resolution rate", percent(d.resolution_rate_bp)),
        Headline("纠纷通报", "Disputes reported", str(d.reported)),
        Headline("纠纷化解", "Disputes resolved", str(d.resolved)),
        Headline("化解天数中位数", "Median days to resolution", median_days),
        Headline("赔偿总额(元)", "Compensation agreed (yuan)", yuan(d.compensation_total_fen)),
        Headline("联调发起", "Linked mediations opened", str(m.opened)),
        Headline("联调办结", "Linked mediations closed", str(m.closed)),
        Headline("户籍代办", "Proxy requests filed", str(filed)),
        Headline("按时办结率", "On-time rate", percent(p.on_time_rate_bp)),
        Headline("节省路费(元)", "Travel cost avoided (yuan)", yuan(p.travel_cost_avoided_fen)),
        Headline("未结事项", "Open items carried over", str(len(figures.open_items))),
    ]
