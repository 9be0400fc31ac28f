"""session rules: the consent block marked before the session, attendance kept for the minutes, chairs as members

Revision ID: 5e1f0c7a9b2d
Revises: 16208a592d82
Create Date: 2026-12-07 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import ecabinet.database


# revision identifiers, used by Alembic.
revision = '5e1f0c7a9b2d'
down_revision = '16208a592d82'
branch_labels = ('session_rules',)
depends_on = None


def upgrade():
    # plain ADD COLUMNs (no batch): SQLite would otherwise rebuild agenda_items, which other tables reference
    op.add_column('agenda_items', sa.Column('consent_block', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('agenda_items', sa.Column('activated_at', ecabinet.database.UTCDateTime(timezone=True),
                                            nullable=True))
    op.add_column('agenda_items', sa.Column('consent_withdrawn_at', ecabinet.database.UTCDateTime(timezone=True),
                                            nullable=True))
    op.add_column('agenda_items', sa.Column('consent_withdrawn_reason', sa.String(length=20), nullable=True))
    op.add_column('participants', sa.Column('attended_at', ecabinet.database.UTCDateTime(timezone=True),
                                            nullable=True))
    op.execute("UPDATE participants SET attended_at = checked_in_at WHERE checked_in_at IS NOT NULL")
    # a meeting not yet in session makes its chair a member participant, as a new meeting now does;
    # meetings already held keep the record they were held with
    op.execute("INSERT INTO participants (meeting_id, user_id, role, agenda_item_ids) "
               "SELECT m.id, m.chair_id, 'member', '[]' FROM meetings m "
               "WHERE m.status IN ('draft', 'published') AND NOT EXISTS "
               "(SELECT 1 FROM participants p WHERE p.meeting_id = m.id AND p.user_id = m.chair_id)")


def downgrade():
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_column('attended_at')
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_column('consent_withdrawn_reason')
        batch_op.drop_column('consent_withdrawn_at')
        batch_op.drop_column('activated_at')
        batch_op.drop_column('consent_block')
