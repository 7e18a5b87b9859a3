"""Key history (issue 4): tenant_keys and tenant_key_events of issuer/store/models.py.

Written after the models, as 0001 and 0002 were: timestamps default to the database's now() on every backend, indexes
are plain CREATE INDEX. tests/store/test_migrations.py checks the migrated schema against the models. Tenants made
before this revision have no rows here: their two keys read as number 1, undated, until their first rotation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tenant_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.String(length=66), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('retiring_secret_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'role', 'number')
    )

    op.create_table('tenant_key_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Integer(), nullable=False),
    sa.Column('sender', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('PENDING', 'SENT', 'RECORDED', 'FAILED', name='keyeventstate', native_enum=False, length=16), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=True),
    sa.Column('anchoring_address', sa.String(length=42), nullable=True),
    sa.Column('nonce', sa.BigInteger(), nullable=True),
    sa.Column('raw_tx', sa.LargeBinary(), nullable=True),
    sa.Column('tx_hash', sa.String(length=66), nullable=True),
    sa.Column('block_number', sa.BigInteger(), nullable=True),
    sa.Column('block_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_tenant_key_events_tenant_state', 'tenant_key_events', ['tenant_id', 'state'])


def downgrade() -> None:
    op.drop_index('ix_tenant_key_events_tenant_state', table_name='tenant_key_events')
    op.drop_table('tenant_key_events')
    op.drop_table('tenant_keys')
