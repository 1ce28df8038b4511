"""governance: approvals, cards, outcomes, shadow decisions, drift checks

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 17:16:10.737338
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("score_psi", sa.Float(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_checks")),
    )
    with op.batch_alter_table("drift_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drift_checks_checked_at"), ["checked_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_drift_checks_model_name"), ["model_name"], unique=False
        )

    op.create_table(
        "credit_outcomes",
        sa.Column("decision_id", sa.String(length=32), autoincrement=False, nullable=False),
        sa.Column("defaulted", sa.Boolean(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["credit_decisions.id"],
            name=op.f("fk_credit_outcomes_decision_id_credit_decisions"),
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_credit_outcomes")),
    )
    op.create_table(
        "credit_shadow_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("pd", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["credit_decisions.id"],
            name=op.f("fk_credit_shadow_decisions_decision_id_credit_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_shadow_decisions")),
    )
    with op.batch_alter_table("credit_shadow_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_shadow_decisions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_shadow_decisions_decision_id"), ["decision_id"], unique=False
        )

    op.create_table(
        "model_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_approvals_model_version_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_approvals")),
    )
    with op.batch_alter_table("model_approvals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_approvals_model_version_id"), ["model_version_id"], unique=False
        )

    op.create_table(
        "model_cards",
        sa.Column("model_version_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_cards_model_version_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("model_version_id", name=op.f("pk_model_cards")),
    )
    with op.batch_alter_table("credit_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bins", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credit_decisions", schema=None) as batch_op:
        batch_op.drop_column("bins")

    op.drop_table("model_cards")
    with op.batch_alter_table("model_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_approvals_model_version_id"))

    op.drop_table("model_approvals")
    with op.batch_alter_table("credit_shadow_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_shadow_decisions_decision_id"))
        batch_op.drop_index(batch_op.f("ix_credit_shadow_decisions_created_at"))

    op.drop_table("credit_shadow_decisions")
    op.drop_table("credit_outcomes")
    with op.batch_alter_table("drift_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_checks_model_name"))
        batch_op.drop_index(batch_op.f("ix_drift_checks_checked_at"))

    op.drop_table("drift_checks")
