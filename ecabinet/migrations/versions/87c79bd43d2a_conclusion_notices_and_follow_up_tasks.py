"""conclusion notices and follow-up tasks

Revision ID: 87c79bd43d2a
Revises: db2dc487d175
Create Date: 2026-12-02 03:51:00.656951

"""
from alembic import op
import sqlalchemy as sa

import ecabinet.database


# revision identifiers, used by Alembic.
revision = '87c79bd43d2a'
down_revision = 'db2dc487d175'
branch_labels = ('notices',)
depends_on = None


def upgrade():
    op.create_table('conclusion_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', ecabinet.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_sha256', sa.String(length=64), nullable=True),
    sa.Column('unsigned_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_conclusion_notices_created_by_id_users')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_conclusion_notices_issued_by_id_users')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_conclusion_notices_meeting_id_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conclusion_notices')),
    sa.UniqueConstraint('meeting_id', name=op.f('uq_conclusion_notices_meeting_id')),
    sa.UniqueConstraint('year', 'number', name=op.f('uq_conclusion_notices_year'))
    )
    op.create_table('notice_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('last_note', sa.Text(), nullable=False),
    sa.Column('updated_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', ecabinet.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_notice_tasks_agenda_item_id_agenda_items')),
    sa.ForeignKeyConstraint(['notice_id'], ['conclusion_notices.id'], name=op.f('fk_notice_tasks_notice_id_conclusion_notices')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_notice_tasks_owner_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_tasks'))
    )
    with op.batch_alter_table('notice_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_notice_tasks_owner_status', ['owner_user_id', 'status'], unique=False)

    op.create_table('notice_task_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=False),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_notice_task_updates_actor_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['notice_tasks.id'], name=op.f('fk_notice_task_updates_task_id_notice_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_task_updates'))
    )
    with op.batch_alter_table('notice_task_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_task_updates_task_id'), ['task_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notice_task_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_task_updates_task_id'))

    op.drop_table('notice_task_updates')
    with op.batch_alter_table('notice_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_tasks_owner_status')

    op.drop_table('notice_tasks')
    op.drop_table('conclusion_notices')
