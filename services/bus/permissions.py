"""NATS permissions of one jurisdiction's node, derived from the agreement.

A node's NATS user may publish exactly the event subjects the agreement lets it send (one per
flow, sender -> recipient), use the JetStream API of its own streams and consumer, read a
partner's outbound stream again for a gap (in the partner's domain or its own), and receive
replies on `_INBOX.>`. A compromised node, or a mistake, cannot publish as another party or an
event type the agreement does not permit: the server refuses it before any stream stores it.
"""

from dataclasses import dataclass

from contracts.agreement import Agreement
from services.bus.topology import event_subject, inbound_stream, outbound_stream

INBOX = "_INBOX.>"


class NotAParty(ValueError):
    """The jurisdiction is not a party to the agreement."""


@dataclass(frozen=True)
class NodePermissions:
    """What one node's NATS user may publish and subscribe to."""

    jurisdiction: str
    publish: list[str]
    subscribe: list[str]


def sent_subjects(agreement: Agreement, jurisdiction: str) -> list[str]:
    """Every subject `jurisdiction` may publish an event on under `agreement`."""
    return sorted(
        event_subject(jurisdiction, recipient, flow.type)
        for flow in agreement.flows
        if jurisdiction in flow.senders
        for recipient in flow.recipients
        if recipient != jurisdiction
    )


def received_subjects(agreement: Agreement, jurisdiction: str) -> list[str]:
    """Every subject an event addressed to `jurisdiction` may arrive on under `agreement`."""
    return sorted(
        event_subject(sender, jurisdiction, flow.type)
        for flow in agreement.flows
        if jurisdiction in flow.recipients
        for sender in flow.senders
        if sender != jurisdiction
    )


def node_permissions(agreement: Agreement, jurisdiction: str) -> NodePermissions:
    """The allow-lists of `jurisdiction`'s node user."""
    if agreement.party(jurisdiction) is None:
        raise NotAParty(f"{jurisdiction} is not a party to {agreement.ref}")
    out, inbound = outbound_stream(jurisdiction), inbound_stream(jurisdiction)
    partners = sorted(p.id for p in agreement.parties if p.id != jurisdiction)
    jetstream = [
        "$JS.API.INFO",
        f"$JS.API.STREAM.*.{out}",
        f"$JS.API.STREAM.*.{inbound}",
        # A restarted node reads its streams' last messages, and a store restored from a backup
        # reads what it lacks back from its own stream (services/bus/catch_up.py, gaps.py).
        f"$JS.API.STREAM.MSG.GET.{out}",
        f"$JS.API.STREAM.MSG.GET.{inbound}",
        f"$JS.API.CONSUMER.*.{out}",
        f"$JS.API.CONSUMER.*.{out}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{out}.>",
        f"$JS.API.CONSUMER.*.{inbound}",
        f"$JS.API.CONSUMER.*.{inbound}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{inbound}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{inbound}.>",
        f"$JS.ACK.{inbound}.>",
        f"$JS.ACK.*.*.{inbound}.>",
    ]
    for partner in partners:  # a gap is re-read from the partner's stream, in either domain
        stream = outbound_stream(partner)
        for api in ("$JS.API", "$JS.*.API"):
            jetstream += [
                f"{api}.INFO",
                f"{api}.STREAM.INFO.{stream}",
                f"{api}.CONSUMER.*.{stream}",
                f"{api}.CONSUMER.*.{stream}.>",
                f"{api}.CONSUMER.MSG.NEXT.{stream}.>",
            ]
    return NodePermissions(
        jurisdiction,
        publish=sent_subjects(agreement, jurisdiction) + list(dict.fromkeys(jetstream)),
        subscribe=[INBOX, *received_subjects(agreement, jurisdiction)],
    )


def authorization_block(permissions: NodePermissions, password_variable: str) -> str:
    """A nats-server `authorization` block with the node's user; the password is read from
    the environment variable `password_variable` when the server starts."""
    lines = [
        f"# Node user of {permissions.jurisdiction}: generated from the agreement by",
        "# `fengqiao agreement nats-permissions`; regenerate it after every amendment.",
        "authorization {",
        "  users = [",
        "    {",
        f'      user: "{permissions.jurisdiction}"',
        f"      password: ${password_variable}",
        "      permissions {",
        "        publish {",
        *_allow(permissions.publish),
        "        }",
        "        subscribe {",
        *_allow(permissions.subscribe),
        "        }",
        "      }",
        "    }",
        "  ]",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _allow(subjects: list[str]) -> list[str]:
    return ["          allow: [", *(f'            "{s}"' for s in subjects), "          ]"]
