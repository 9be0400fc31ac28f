"""private page annotations: a reader's highlights and ink per page

Revision ID: 3b7e5d1c9a42
Revises: db2dc487d175
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa

import ecabinet.database


revision = '3b7e5d1c9a42'
down_revision = 'db2dc487d175'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('page_annotations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('page', sa.Integer(), nullable=False),
    sa.Column('marks', sa.JSON(), nullable=False),
    sa.Column('updated_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_page_annotations_document_id_documents')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_page_annotations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_annotations')),
    sa.UniqueConstraint('document_id', 'user_id', 'page', name=op.f('uq_page_annotations_document_id'))
    )
    with op.batch_alter_table('page_annotations', schema=None) as batch_op:
        batch_op.create_index('ix_page_annotations_document_user', ['document_id', 'user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('page_annotations', schema=None) as batch_op:
        batch_op.drop_index('ix_page_annotations_document_user')
    op.drop_table('page_annotations')
