"""Every outcome proposed in a linked mediation, not only the one in force: two proposals made
at once (on both sides of a cut link, say) are settled alike on both sides, the greater event id
standing, and an owner's close may name one that a crossing proposal displaced. Tasks keep the
id of the event that assigned them, so both sides list them in one order.

The proposal in force before this migration is filled in with its event id, found in the
case's timeline by its digest; earlier proposals' outcomes were not kept and are not. A task's
assigning event is found in the timeline by the task id its summary names.

Revision ID: 0012
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0003"
branch_labels = None
depends_on = None

PROPOSAL_IN_TIMELINE = (
    "SELECT max(t.event_id) FROM mediation_timeline t WHERE t.mediation_id = m.mediation_id "
    "AND t.type = 'mediation.outcome_proposed' "
    "AND t.summary LIKE '%digest ' || substr(m.terms_digest, 1, 12)"
)
TASK_IN_TIMELINE = (
    "SELECT min(t.event_id) FROM mediation_timeline t "
    "WHERE t.mediation_id = mediation_tasks.mediation_id AND t.type = 'mediation.task_assigned' "
    "AND substr(t.summary, 1, length(mediation_tasks.task_id) + 10) "
    "= 'task ' || mediation_tasks.task_id || ' for '"
)


def upgrade() -> None:
    op.create_table(
        "mediation_proposals",
        sa.Column("mediation_id", sa.String(80), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("terms_digest", sa.String(64), nullable=False),
        sa.Column("outcome", sa.JSON, nullable=False),
        sa.Column("mediator", sa.JSON, nullable=False),
    )
    op.add_column("mediations", sa.Column("proposal_id", sa.String(36)))
    op.add_column("mediation_tasks", sa.Column("assigned_event", sa.String(36)))
    op.execute(
        "INSERT INTO mediation_proposals "
        "(mediation_id, event_id, proposed_by, terms_digest, outcome, mediator) "
        f"SELECT m.mediation_id, coalesce(({PROPOSAL_IN_TIMELINE}), m.last_event_id), "
        "m.proposed_by, m.terms_digest, m.outcome, m.mediator "
        "FROM mediations m WHERE m.terms_digest IS NOT NULL"
    )
    op.execute(
        "UPDATE mediations SET proposal_id = (SELECT p.event_id FROM mediation_proposals p "
        "WHERE p.mediation_id = mediations.mediation_id)"
    )
    op.execute(f"UPDATE mediation_tasks SET assigned_event = ({TASK_IN_TIMELINE})")


def downgrade() -> None:
    op.drop_column("mediation_tasks", "assigned_event")
    op.drop_column("mediations", "proposal_id")
    op.drop_table("mediation_proposals")
