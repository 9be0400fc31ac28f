"""audit checkpoints: signed heads of the audit chain

Revision ID: a7c3e91d0b52
Revises: 16208a592d82
Create Date: 2026-12-07 04:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e91d0b52'
down_revision = '16208a592d82'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints'))
    )
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoints_record_id'), ['record_id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoints_record_id'))
    op.drop_table('audit_checkpoints')
