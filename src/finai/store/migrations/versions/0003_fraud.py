"""fraud scores, alert queue and labels

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:12:41.318205
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "fraud_scores",
        sa.Column("transaction_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("terminal_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_fraud_scores")),
    )
    with op.batch_alter_table("fraud_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fraud_scores_scored_at"), ["scored_at"], unique=False)

    op.create_table(
        "fraud_alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("resolution", sa.String(length=12), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["fraud_scores.transaction_id"],
            name=op.f("fk_fraud_alerts_transaction_id_fraud_scores"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_alerts")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_fraud_alerts_transaction_id")),
    )
    with op.batch_alter_table("fraud_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fraud_alerts_status_created_at"), ["status", "created_at"], unique=False
        )

    op.create_table(
        "fraud_labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.String(length=128), nullable=False),
        sa.Column("is_fraud", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_labels")),
    )
    with op.batch_alter_table("fraud_labels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fraud_labels_transaction_id"), ["transaction_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("fraud_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fraud_labels_transaction_id"))

    op.drop_table("fraud_labels")
    with op.batch_alter_table("fraud_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fraud_alerts_status_created_at"))

    op.drop_table("fraud_alerts")
    with op.batch_alter_table("fraud_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fraud_scores_scored_at"))

    op.drop_table("fraud_scores")
