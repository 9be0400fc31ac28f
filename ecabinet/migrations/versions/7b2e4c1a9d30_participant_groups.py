"""participant groups: named sets of members the secretariat invites to a meeting together

Revision ID: 7b2e4c1a9d30
Revises: db2dc487d175
Create Date: 2026-12-07 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import ecabinet.database


# revision identifiers, used by Alembic.
revision = '7b2e4c1a9d30'
down_revision = 'db2dc487d175'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('participant_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_participant_groups_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_participant_groups_name'))
    )
    op.create_table('participant_group_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['participant_groups.id'], name=op.f('fk_participant_group_members_group_id_participant_groups')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_participant_group_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_group_members')),
    sa.UniqueConstraint('group_id', 'user_id', name=op.f('uq_participant_group_members_group_id'))
    )


def downgrade():
    op.drop_table('participant_group_members')
    op.drop_table('participant_groups')
