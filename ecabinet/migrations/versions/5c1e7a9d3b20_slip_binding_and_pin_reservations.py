"""slip drafts bound to the member's current answer; PIN attempts reserved before they are tried

Revision ID: 5c1e7a9d3b20
Revises: 04352f528f2a
Create Date: 2026-12-07 04:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import ecabinet.database


# revision identifiers, used by Alembic.
revision = '5c1e7a9d3b20'
down_revision = '04352f528f2a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signing_credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_attempts_pending', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pin_attempts_started', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pin_last_wrong_at', ecabinet.database.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('ballot_slip_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('base_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('answers_sha256', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('signature_page', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('signature_rect', sa.JSON(), nullable=True))
        batch_op.create_index('ix_ballot_slip_drafts_answers', ['ballot_id', 'user_id', 'base_version',
                                                                'answers_sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('ballot_slip_drafts', schema=None) as batch_op:
        batch_op.drop_index('ix_ballot_slip_drafts_answers')
        batch_op.drop_column('signature_rect')
        batch_op.drop_column('signature_page')
        batch_op.drop_column('answers_sha256')
        batch_op.drop_column('base_version')
    with op.batch_alter_table('signing_credentials', schema=None) as batch_op:
        batch_op.drop_column('pin_last_wrong_at')
        batch_op.drop_column('pin_attempts_started')
        batch_op.drop_column('pin_attempts_pending')
