"""The owner tells more jurisdictions of a dispute: one more partner, or how it was resolved."""

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events.common import CaseId, JurisdictionRef
from contracts.events.disputes import DisputeResolvedV1
from services.disputes.model import (
    DisputeState,
    DuplicateDispute,
    IllegalDisputeTransition,
    check_owner,
)
from services.disputes.records import add_holders, get_dispute, reported_snapshot
from services.disputes.sending import Sent, check_may_send, send_all, thread
from services.disputes.tables import dispute_shares, dispute_timeline, disputes
from services.disputes.timeline import append_entry, record_step
from services.node import Node


class ShareDispute(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dispute_id: CaseId
    partner: JurisdictionRef


async def share_dispute(node: Node, cmd: ShareDispute) -> Sent:
    """Report an open dispute to one more partner, as it stands now (owner only).

    The handling code is checked first: a node that received the dispute under H2 is told so,
    whatever else would also stop it.
    """
    async with node.unit_of_work() as conn:
        dispute = await get_dispute(conn, cmd.dispute_id)
        check_may_send(node, dispute, cmd.partner)
        check_owner(dispute, node.jurisdiction, "share")
        if cmd.partner in dispute.holders:
            raise DuplicateDispute(f"{cmd.partner} already holds dispute {cmd.dispute_id}")
        if dispute.state != DisputeState.REPORTED:
            raise IllegalDisputeTransition(f"a {dispute.state.value} dispute is not shared")
        event = await reported_snapshot(conn, cmd.dispute_id)
        [verified] = await send_all(
            node, conn, event, cmd.dispute_id, [cmd.partner], *thread(dispute)
        )
        await add_holders(conn, dispute, [cmd.partner])
        await conn.execute(
            dispute_shares.insert().values(
                dispute_id=cmd.dispute_id, partner=cmd.partner, shared_at=verified.envelope.sent_at
            )
        )
        await record_step(conn, disputes, cmd.dispute_id, verified, dispute.state, {})
        summary = f"reported to {cmd.partner} as it stands"
        await append_entry(conn, dispute_timeline, cmd.dispute_id, verified, summary)
    return Sent(cmd.dispute_id, verified.envelope.id, (cmd.partner,))


async def forward_resolution(
    node: Node, conn: AsyncConnection, event: DisputeResolvedV1, besides: set[str]
) -> list[str]:
    """Tell the dispute's other holders (not `besides`) how it was resolved; the owner only.

    Used when a linked mediation resolved the dispute between two of its holders: the others
    learn it from this event. This node's own state was already resolved by the mediation.
    """
    dispute = await get_dispute(conn, event.dispute_id)
    if dispute.originator != node.jurisdiction:
        return []
    recipients = [j for j in dispute.counterparts(node.jurisdiction) if j not in besides]
    if recipients:
        await send_all(node, conn, event, dispute.dispute_id, recipients, *thread(dispute))
    return recipients
