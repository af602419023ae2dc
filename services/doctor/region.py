"""The node's NATS region: reachable, JetStream on in the right domain, the clock close to the
server's, the leaf-node link to each partner's region up and the partner's stream visible.

Every check only reads: JetStream API requests (`$JS.API.INFO`, `STREAM.INFO`), no stream is
created or changed.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from services.bus.topology import api_prefix, outbound_stream
from services.doctor.findings import Finding, Verdict, fail, ok, skipped, warn
from services.settings import NodeSettings, Partner, without_password

NATS = "NATS"
JETSTREAM = "JetStream domain"
CLOCK = "clock skew"
LINK = "leaf link"
PARTNER_STREAM = "partner stream"
_RFC3339 = re.compile(r"(?P<seconds>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))?Z")


class NoAnswer(Exception):
    """The JetStream API did not answer: nobody serves that subject (or it timed out)."""


@dataclass(frozen=True)
class ApiAnswer:
    """A JetStream API reply, and the local times just before and after the request."""

    body: dict[str, Any]
    sent: datetime
    received: datetime


async def _ignore(_error: Exception) -> None:
    """The doctor reports a failed connection once, itself; nats-py would print each retry."""


async def connect(url: str, timeout: float) -> NatsClient:
    """Two attempts at each configured server, then give up; no reconnects once connected."""
    return await nats.connect(
        servers=[u.strip() for u in url.split(",")],
        connect_timeout=timeout,
        allow_reconnect=False,
        max_reconnect_attempts=1,  # 0 would mean: try for ever
        error_cb=_ignore,
        name="fengqiao-doctor",
    )


async def api(
    nc: NatsClient, subject: str, timeout: float, clock: Callable[[], datetime]
) -> ApiAnswer:
    """Ask the JetStream API and decode its JSON answer."""
    sent = clock()
    try:
        reply = await nc.request(subject, b"", timeout=timeout)
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as exc:
        raise NoAnswer(subject) from exc
    body: dict[str, Any] = json.loads(reply.data)
    return ApiAnswer(body, sent, clock())


def _server(nc: NatsClient) -> str | None:
    """host:port of the server `nc` is connected to (the URL's credentials left out)."""
    at = nc.connected_url
    return f"{at.hostname}:{at.port}" if at else None


def reach_failure(url: str, error: Exception) -> Finding:
    """NATS could not be reached at all."""
    return fail(
        NATS,
        f"cannot reach {without_password(url)}: {type(error).__name__} {error}".strip(),
        "start nats-server (`systemctl start nats-server`), or correct nats_url in the settings",
    )


def domain_verdict(answer: dict[str, Any] | None, expected: str) -> Finding:
    """JetStream enabled, and in the domain the settings name."""
    if answer is None or "error" in answer:
        why = (answer or {}).get("error", {}).get("description", "no JetStream API answered")
        return fail(
            JETSTREAM,
            f"JetStream is not available: {why}",
            "enable it in the server's configuration (`jetstream { store_dir, domain }`, "
            "deploy/nats/region.conf) and restart nats-server",
        )
    domain = answer.get("domain") or ""
    if expected and domain != expected:
        return fail(
            JETSTREAM,
            f"the server's JetStream domain is {domain or '(none)'}, the settings say {expected}",
            "set the same domain in the server's `jetstream { domain }` and in js_domain; "
            "partners address this region by it",
        )
    if not expected and domain:
        return warn(
            JETSTREAM,
            f"the server's domain is {domain}; js_domain is not set",
            f'set js_domain = "{domain}" in the settings',
        )
    return ok(JETSTREAM, f"JetStream on, domain {domain or '(none)'}")


def skew_verdict(answer: ApiAnswer, max_skew_s: float) -> Finding:
    """This machine's clock against the NATS server's (`ts` of a JetStream answer)."""
    server = server_time(str(answer.body["ts"]))
    midpoint = answer.sent + (answer.received - answer.sent) / 2
    skew = (midpoint - server).total_seconds()
    detail = (
        f"this machine is {abs(skew):.1f} s {'ahead of' if skew > 0 else 'behind'} the NATS server"
    )
    if abs(skew) > max_skew_s:
        return fail(
            CLOCK,
            f"{detail}; partners refuse events more than {max_skew_s:.0f} s off",
            "synchronise both clocks with NTP (`timedatectl set-ntp true`, chrony)",
        )
    if abs(skew) > max_skew_s / 10:
        return warn(CLOCK, detail, "check NTP on this machine and on the NATS server")
    return ok(CLOCK, detail)


def link_verdict(partner: str, domain: str, answer: dict[str, Any] | None) -> Finding:
    """The partner's JetStream domain answers across the leaf-node link."""
    if answer is None:
        return fail(
            LINK,
            f"no answer from domain {domain} ({partner}): the leaf-node link is down",
            "check the `leafnodes` block (hub URL, credentials, TLS), the firewall to the hub's "
            "leaf port, and /leafz on both servers",
        )
    return ok(LINK, f"domain {domain} ({partner}) answers across the link")


def partner_stream_verdict(partner: str, answer: dict[str, Any] | None) -> Finding:
    """The partner's outbound stream, which this node's inbound stream sources, exists."""
    stream = outbound_stream(partner)
    if answer is None or "error" in answer:
        return fail(
            PARTNER_STREAM,
            f"{stream} is not visible",
            f"the partner starts its node once (it creates {stream}); until then nothing "
            "arrives from it",
        )
    messages = answer.get("state", {}).get("messages", 0)
    return ok(PARTNER_STREAM, f"{stream} visible, {messages} messages")


async def check_region(
    settings: NodeSettings, timeout: float, clock: Callable[[], datetime]
) -> list[Finding]:
    """Every NATS check, in order; those that depend on a failed one are skipped."""
    url = settings.nats_url
    if url is None:
        return [
            ok(NATS, "embedded nats-server (started by the node itself)"),
            skipped(LINK, "an embedded server has no link to partners; set nats_url"),
        ]
    try:
        nc = await connect(url, timeout)
    except (OSError, TimeoutError, nats.errors.Error) as exc:
        return [
            reach_failure(url, exc),
            *(skipped(c, "NATS unreachable") for c in (JETSTREAM, CLOCK, LINK, PARTNER_STREAM)),
        ]
    try:
        return [
            ok(NATS, f"connected to {_server(nc) or without_password(url)}"),
            *await _region_findings(nc, settings, timeout, clock),
        ]
    finally:
        await nc.close()


async def _answer(
    nc: NatsClient, subject: str, timeout: float, clock: Callable[[], datetime]
) -> ApiAnswer | None:
    try:
        return await api(nc, subject, timeout, clock)
    except NoAnswer:
        return None


async def _region_findings(
    nc: NatsClient, s: NodeSettings, timeout: float, clock: Callable[[], datetime]
) -> list[Finding]:
    info = await _answer(nc, "$JS.API.INFO", timeout, clock)
    domain = domain_verdict(info.body if info else None, s.js_domain)
    if domain.verdict is Verdict.FAIL:
        later = (CLOCK, LINK, PARTNER_STREAM)
        return [domain, *(skipped(c, "no JetStream") for c in later)]
    own_stream = f"$JS.API.STREAM.INFO.{outbound_stream(s.jurisdiction)}"
    timed = [a for a in [await _answer(nc, own_stream, timeout, clock)] if a and "ts" in a.body]
    partners: list[Finding] = []
    if not s.partners:
        partners.append(
            warn(LINK, "no partners in the settings", "list each partner under [[partners]]")
        )
    for partner in s.partners:
        partners += await _partner_findings(nc, s.js_domain, partner, timeout, clock)
    return [domain, _clock_finding(timed, s.max_clock_skew_s), *partners]


async def _partner_findings(
    nc: NatsClient, own_domain: str, partner: Partner, timeout: float, clock: Callable[[], datetime]
) -> list[Finding]:
    findings: list[Finding] = []
    prefix = "$JS.API"
    if partner.domain != own_domain:
        prefix = api_prefix(partner.domain)
        link = await _answer(nc, f"{prefix}.INFO", timeout, clock)
        findings.append(
            link_verdict(partner.jurisdiction, partner.domain, link.body if link else None)
        )
        if link is None:
            return [*findings, skipped(PARTNER_STREAM, f"no link to {partner.domain}")]
    subject = f"{prefix}.STREAM.INFO.{outbound_stream(partner.jurisdiction)}"
    stream = await _answer(nc, subject, timeout, clock)
    findings.append(partner_stream_verdict(partner.jurisdiction, stream.body if stream else None))
    return findings


def _clock_finding(timed: list[ApiAnswer], max_skew_s: float) -> Finding:
    if timed:
        return skew_verdict(timed[0], max_skew_s)
    return warn(
        CLOCK,
        "not measured: the server tells its time with a stream's info, "
        "and this node's stream does not exist yet",
        "start the node once (it creates its stream) and run doctor again; meanwhile check NTP",
    )


def utc_now() -> datetime:
    """The local clock, in UTC."""
    return datetime.now(UTC)


def server_time(text: str) -> datetime:
    """An RFC 3339 time as nats-server writes it (nanoseconds, `Z`)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not a server time: {text!r}")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{match['seconds']}.{fraction}+00:00")
