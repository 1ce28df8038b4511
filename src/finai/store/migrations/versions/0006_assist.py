"""assist: knowledge base entries, conversations, sealed messages, handoffs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 19:51:48.035713
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assist_conversations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_conversations")),
    )
    with op.batch_alter_table("assist_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assist_conversations_owner"), ["owner"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assist_conversations_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "assist_kb_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_kb_entries")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_assist_kb_entries_key")),
    )
    with op.batch_alter_table("assist_kb_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assist_kb_entries_key"), ["key"], unique=False)

    op.create_table(
        "assist_handoffs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["assist_conversations.id"],
            name=op.f("fk_assist_handoffs_conversation_id_assist_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_handoffs")),
    )
    with op.batch_alter_table("assist_handoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assist_handoffs_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            "ix_assist_handoffs_status_created_at", ["status", "created_at"], unique=False
        )

    op.create_table(
        "assist_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("redacted", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=True),
        sa.Column("sentiment", sa.String(length=10), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["assist_conversations.id"],
            name=op.f("fk_assist_messages_conversation_id_assist_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_messages")),
    )
    with op.batch_alter_table("assist_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assist_messages_conversation_id_created_at",
            ["conversation_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_assist_messages_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assist_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assist_messages_created_at"))
        batch_op.drop_index("ix_assist_messages_conversation_id_created_at")

    op.drop_table("assist_messages")
    with op.batch_alter_table("assist_handoffs", schema=None) as batch_op:
        batch_op.drop_index("ix_assist_handoffs_status_created_at")
        batch_op.drop_index(batch_op.f("ix_assist_handoffs_conversation_id"))

    op.drop_table("assist_handoffs")
    with op.batch_alter_table("assist_kb_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assist_kb_entries_key"))

    op.drop_table("assist_kb_entries")
    with op.batch_alter_table("assist_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assist_conversations_updated_at"))
        batch_op.drop_index(batch_op.f("ix_assist_conversations_owner"))

    op.drop_table("assist_conversations")
