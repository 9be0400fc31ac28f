"""offline briefcase: enrolled devices (per-login keys) and the meetings each holds

Revision ID: b3f1c2d4e5a6
Revises: db2dc487d175
Create Date: 2026-12-07 14:50:00

"""
from alembic import op
import sqlalchemy as sa

import ecabinet.database


revision = 'b3f1c2d4e5a6'
down_revision = 'db2dc487d175'
branch_labels = ('briefcase',)
depends_on = None


def upgrade():
    op.create_table('briefcase_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_hash', sa.String(length=64), nullable=False),
    sa.Column('auth_session_id', sa.Integer(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_contact_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('wiped_at', ecabinet.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('wiped_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['auth_session_id'], ['auth_sessions.id'], name=op.f('fk_briefcase_devices_auth_session_id_auth_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_briefcase_devices_user_id_users')),
    sa.ForeignKeyConstraint(['wiped_by_id'], ['users.id'], name=op.f('fk_briefcase_devices_wiped_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_briefcase_devices')),
    sa.UniqueConstraint('key_id', name=op.f('uq_briefcase_devices_key_id'))
    )
    with op.batch_alter_table('briefcase_devices', schema=None) as batch_op:
        batch_op.create_index('ix_briefcase_devices_user_device', ['user_id', 'device_hash'], unique=False)
    op.create_table('briefcase_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['briefcase_devices.id'], name=op.f('fk_briefcase_meetings_device_id_briefcase_devices')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_briefcase_meetings_meeting_id_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_briefcase_meetings')),
    sa.UniqueConstraint('device_id', 'meeting_id', name=op.f('uq_briefcase_meetings_device_id'))
    )
    with op.batch_alter_table('briefcase_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_briefcase_meetings_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_briefcase_meetings_meeting_id'), ['meeting_id'], unique=False)


def downgrade():
    with op.batch_alter_table('briefcase_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_briefcase_meetings_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_briefcase_meetings_device_id'))
    op.drop_table('briefcase_meetings')
    with op.batch_alter_table('briefcase_devices', schema=None) as batch_op:
        batch_op.drop_index('ix_briefcase_devices_user_device')
    op.drop_table('briefcase_devices')
