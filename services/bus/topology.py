"""Where events travel on NATS: subject and stream names per sender -> recipient, and partners.

A sender publishes to `fq.<sender>.<recipient>.<flow>.<fact>` (e.g.
`fq.dongguan-dalang.guangan-qianfeng.dispute.reported`). Sender first, so that one wildcard,
`fq.<sender>.>`, is exactly what the sender's outbound stream holds and no other region's stream
can claim it; recipient second, so that a partner sources only what is addressed to it.
The agreement is not in the subject: it is in the signed envelope, where it is verified, and an
amendment (a new agreement version) must not change where events flow.
"""

import re
from dataclasses import dataclass

SUBJECT_ROOT = "fq"
DELIVER_ROOT = "deliver"
JURISDICTION = re.compile(r"^[a-z0-9-]{1,64}$")
EVENT_TYPE = re.compile(r"^[a-z]+\.[a-z_]+$")
DOMAIN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidName(ValueError):
    """A jurisdiction, event type or domain that cannot be a NATS subject token or stream name."""


@dataclass(frozen=True)
class Partner:
    """A party whose events this node receives; `domain` None means the same JetStream domain."""

    jurisdiction: str
    domain: str | None = None

    def __post_init__(self) -> None:
        _check(JURISDICTION, self.jurisdiction, "jurisdiction")
        if self.domain is not None:
            _check(DOMAIN, self.domain, "JetStream domain")


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise InvalidName(f"{what} {value!r} does not match {pattern.pattern}")
    return value


def event_subject(sender: str, recipient: str, event_type: str) -> str:
    """The subject an event from `sender` to `recipient` is published on."""
    _check(JURISDICTION, sender, "sender")
    _check(JURISDICTION, recipient, "recipient")
    _check(EVENT_TYPE, event_type, "event type")
    return f"{SUBJECT_ROOT}.{sender}.{recipient}.{event_type}"


def outbound_subjects(sender: str) -> str:
    """Everything `sender` publishes: the subjects of its outbound stream."""
    return f"{SUBJECT_ROOT}.{_check(JURISDICTION, sender, 'sender')}.>"


def addressed_to(sender: str, recipient: str) -> str:
    """What `sender` publishes to `recipient`: the filter of the recipient's source."""
    _check(JURISDICTION, recipient, "recipient")
    return f"{SUBJECT_ROOT}.{_check(JURISDICTION, sender, 'sender')}.{recipient}.>"


def outbound_stream(sender: str) -> str:
    """The stream, in the sender's own domain, that holds everything it publishes."""
    return f"OUT_{_check(JURISDICTION, sender, 'sender')}"


def inbound_stream(recipient: str) -> str:
    """The stream, in the recipient's own domain, that sources what partners address to it."""
    return f"IN_{_check(JURISDICTION, recipient, 'recipient')}"


def deliver_prefix(sender: str, recipient: str) -> str:
    """Where the sender's domain delivers a sourced stream; outside `fq.` so no stream stores it."""
    return f"{DELIVER_ROOT}.{sender}.{recipient}"


def api_prefix(domain: str) -> str:
    """The JetStream API of another domain, as reached across a leaf node."""
    return f"$JS.{_check(DOMAIN, domain, 'JetStream domain')}.API"


def sender_of(subject: str) -> str:
    """The sender named by an event subject."""
    parts = subject.split(".")
    if len(parts) < 4 or parts[0] != SUBJECT_ROOT:
        raise InvalidName(f"{subject!r} is not an event subject")
    return _check(JURISDICTION, parts[1], "sender")
