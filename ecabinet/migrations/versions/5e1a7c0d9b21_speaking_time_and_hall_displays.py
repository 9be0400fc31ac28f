"""live room: the speaking time given with the floor; hall displays (read-only device credentials)

Revision ID: 5e1a7c0d9b21
Revises: 1823b9ee2bb6
Create Date: 2026-12-07 04:20:00

"""
from alembic import op
import sqlalchemy as sa

import ecabinet.database


revision = '5e1a7c0d9b21'
down_revision = '1823b9ee2bb6'
branch_labels = None
depends_on = 'db2dc487d175'


def upgrade():
    with op.batch_alter_table('speaker_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allotted_seconds', sa.Integer(), nullable=True))
    op.create_table('hall_displays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', ecabinet.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', ecabinet.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_hall_displays_created_by_id_users')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_hall_displays_meeting_id_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hall_displays')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_hall_displays_token_hash'))
    )
    with op.batch_alter_table('hall_displays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hall_displays_meeting_id'), ['meeting_id'], unique=False)


def downgrade():
    with op.batch_alter_table('hall_displays', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hall_displays_meeting_id'))
    op.drop_table('hall_displays')
    with op.batch_alter_table('speaker_requests', schema=None) as batch_op:
        batch_op.drop_column('allotted_seconds')
