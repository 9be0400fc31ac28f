"""search index

Revision ID: 69f3e5bc1f17
Revises: 16208a592d82
Create Date: 2026-12-02 04:05:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import ecabinet.database


# revision identifiers, used by Alembic.
revision = '69f3e5bc1f17'
down_revision = '16208a592d82'
branch_labels = ('search',)
depends_on = None


def upgrade():
    op.create_table('search_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('confidentiality', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('vector', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True),
    sa.Column('updated_at', ecabinet.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entries')),
    sa.UniqueConstraint('kind', 'object_id', name=op.f('uq_search_entries_kind'))
    )
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.create_index('ix_search_entries_meeting_id', ['meeting_id'], unique=False)
        batch_op.create_index('ix_search_entries_vector', ['vector'], unique=False, postgresql_using='gin')
    if op.get_bind().dialect.name == 'sqlite':
        # folded tokens only (see search/text.py), so the tokenizer must not fold again;
        # prefix indexes keep the type-ahead prefix query on the last word fast
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5("
                   "title, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')")


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE search_fts")
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_search_entries_vector', postgresql_using='gin')
        batch_op.drop_index('ix_search_entries_meeting_id')
    op.drop_table('search_entries')
