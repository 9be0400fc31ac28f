"""event audiences and user streams

Revision ID: 5a1e7c0d9b21
Revises: 16208a592d82
Create Date: 2026-12-07 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import ecabinet.database


# revision identifiers, used by Alembic.
revision = '5a1e7c0d9b21'
down_revision = '16208a592d82'
branch_labels = ('streams',)
depends_on = None


def upgrade():
    with op.batch_alter_table('meeting_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=300), nullable=True))
    op.create_table('user_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=60), nullable=False),
    sa.Column('at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_events'))
    )
    with op.batch_alter_table('user_events', schema=None) as batch_op:
        batch_op.create_index('uq_user_events_user_seq', ['user_id', 'seq'], unique=True)


def downgrade():
    with op.batch_alter_table('user_events', schema=None) as batch_op:
        batch_op.drop_index('uq_user_events_user_seq')
    op.drop_table('user_events')
    with op.batch_alter_table('meeting_events', schema=None) as batch_op:
        batch_op.drop_column('audience')
