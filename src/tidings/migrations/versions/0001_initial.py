"""notification runs, logs, objects, tallies, the search index and API keys

Revision ID: 0001
Revises:
Create Date: 2026-11-25 21:02:27.083711
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tidings.kit.orm
from tidings.logs import search, tallies

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("created_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_keys_secret_hash")),
    )
    op.create_table(
        "notification_log_tallies",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("notification_type", sa.String(length=40), nullable=False),
        sa.Column("medium", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recipient_type", sa.String(length=20), nullable=False),
        sa.Column("ignored_reason", sa.String(length=40), nullable=False),
        sa.Column("failed_reason", sa.String(length=40), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "notification_type",
            "medium",
            "status",
            "recipient_type",
            "ignored_reason",
            "failed_reason",
            name=op.f("pk_notification_log_tallies"),
        ),
    )
    op.create_table(
        "notification_objects",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "object_type",
            sa.Enum("ENTITY", "SCORECARD", "INITIATIVE", name="object_type", native_enum=False),
            nullable=False,
        ),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("cid", sa.String(length=18), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "object_type = 'ENTITY' OR object_type = 'SCORECARD' OR object_type = 'INITIATIVE'",
            name=op.f("ck_notification_objects_object_type_valid"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_notification_objects")),
        sa.UniqueConstraint(
            "object_type", "object_id", name=op.f("uq_notification_objects_object_type")
        ),
    )
    op.create_table(
        "notification_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "notification_type",
            sa.Enum(
                "INITIATIVE_CREATION",
                "INITIATIVE_CUSTOM_SCHEDULE",
                "INITIATIVE_N_DAYS_LEFT",
                "SERVICE_REEVALUATED",
                "WEEKLY_REPORT",
                "BROKEN_OPEN_API_SPEC",
                "ENTITLEMENT_EXPIRATION",
                "ONCALL_ASSISTANT",
                "ONBOARDING_MESSAGE",
                "NOTIFY_INVALID_INTEGRATION",
                "ONCALL_PERSON_CHANGED",
                "ONCALL_STARTS_IN_N_DAYS",
                "TEAM_MEMBER_INVITATION",
                "PENDING_RULE_EXEMPTION",
                "TOKEN_EXPIRES_IN_N_DAYS",
                "SCHEDULED_SCORECARD_RULE_CREATION",
                "SCORECARD_RULE_ACTIVATES_IN_N_DAYS",
                "WORKFLOW_STATUS_UPDATE",
                "WORKFLOW_APPROVAL_PENDING",
                "VERIFICATION_PERIOD_STARTED",
                "VERIFICATION_PERIOD_REMINDER",
                "AI_ASSISTANT_WELCOME_MESSAGE",
                "ENTITY_SCORE_DROPPED",
                "ONBOARDING_WIZARD_STATE_COMPLETED",
                name="notification_type",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "medium",
            sa.Enum(
                "SLACK", "MICROSOFT_TEAMS", "EMAIL", "WEBHOOK", name="medium", native_enum=False
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "CREATED",
                "FAILED",
                "IGNORED",
                "COMPLETED",
                "COMPLETED_WITH_ERRORS",
                name="run_status",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("delivered_count", sa.BigInteger(), nullable=False),
        sa.Column(
            "ignored_reason",
            sa.Enum(
                "SCORECARD_DISABLED",
                "WORKSPACE_DISABLED",
                "NO_RECIPIENTS",
                name="run_ignored_reason",
                native_enum=False,
            ),
            nullable=True,
        ),
        sa.Column(
            "failed_reason",
            sa.Enum(
                "PACKET_GENERATOR_ERROR",
                "CONTEXT_RESOLUTION_ERROR",
                "INTERNAL_ERROR",
                name="run_failed_reason",
                native_enum=False,
            ),
            nullable=True,
        ),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("original_run_id", sa.BigInteger(), nullable=True),
        sa.Column("seq_no", sa.Integer(), nullable=False),
        sa.Column("date_created", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("date_updated", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "failed_reason = 'PACKET_GENERATOR_ERROR' OR failed_reason = 'CONTEXT_RESOLUTION_ERROR' OR failed_reason = 'INTERNAL_ERROR'",
            name=op.f("ck_notification_runs_failed_reason_valid"),
        ),
        sa.CheckConstraint(
            "ignored_reason = 'SCORECARD_DISABLED' OR ignored_reason = 'WORKSPACE_DISABLED' OR ignored_reason = 'NO_RECIPIENTS'",
            name=op.f("ck_notification_runs_ignored_reason_valid"),
        ),
        sa.CheckConstraint(
            "medium = 'SLACK' OR medium = 'MICROSOFT_TEAMS' OR medium = 'EMAIL' OR medium = 'WEBHOOK'",
            name=op.f("ck_notification_runs_medium_valid"),
        ),
        sa.CheckConstraint(
            "notification_type = 'INITIATIVE_CREATION' OR notification_type = 'INITIATIVE_CUSTOM_SCHEDULE' OR notification_type = 'INITIATIVE_N_DAYS_LEFT' OR notification_type = 'SERVICE_REEVALUATED' OR notification_type = 'WEEKLY_REPORT' OR notification_type = 'BROKEN_OPEN_API_SPEC' OR notification_type = 'ENTITLEMENT_EXPIRATION' OR notification_type = 'ONCALL_ASSISTANT' OR notification_type = 'ONBOARDING_MESSAGE' OR notification_type = 'NOTIFY_INVALID_INTEGRATION' OR notification_type = 'ONCALL_PERSON_CHANGED' OR notification_type = 'ONCALL_STARTS_IN_N_DAYS' OR notification_type = 'TEAM_MEMBER_INVITATION' OR notification_type = 'PENDING_RULE_EXEMPTION' OR notification_type = 'TOKEN_EXPIRES_IN_N_DAYS' OR notification_type = 'SCHEDULED_SCORECARD_RULE_CREATION' OR notification_type = 'SCORECARD_RULE_ACTIVATES_IN_N_DAYS' OR notification_type = 'WORKFLOW_STATUS_UPDATE' OR notification_type = 'WORKFLOW_APPROVAL_PENDING' OR notification_type = 'VERIFICATION_PERIOD_STARTED' OR notification_type = 'VERIFICATION_PERIOD_REMINDER' OR notification_type = 'AI_ASSISTANT_WELCOME_MESSAGE' OR notification_type = 'ENTITY_SCORE_DROPPED' OR notification_type = 'ONBOARDING_WIZARD_STATE_COMPLETED'",
            name=op.f("ck_notification_runs_notification_type_valid"),
        ),
        sa.CheckConstraint(
            "status = 'CREATED' OR status = 'FAILED' OR status = 'IGNORED' OR status = 'COMPLETED' OR status = 'COMPLETED_WITH_ERRORS'",
            name=op.f("ck_notification_runs_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["original_run_id"],
            ["notification_runs.id"],
            name=op.f("fk_notification_runs_original_run_id_notification_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_runs")),
    )
    with op.batch_alter_table("notification_runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_created", ["date_created", "id"], unique=False)
        batch_op.create_index(
            "ix_runs_delivered_created",
            ["date_created", "id"],
            unique=False,
            sqlite_where=sa.text("delivered_count >= 1"),
            postgresql_where=sa.text("delivered_count >= 1"),
        )
        batch_op.create_index(
            "ix_runs_failed_created",
            ["failed_reason", "date_created", "id"],
            unique=False,
            sqlite_where=sa.text("failed_reason IS NOT NULL"),
            postgresql_where=sa.text("failed_reason IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_runs_ignored_created",
            ["ignored_reason", "date_created", "id"],
            unique=False,
            sqlite_where=sa.text("ignored_reason IS NOT NULL"),
            postgresql_where=sa.text("ignored_reason IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_runs_medium_created", ["medium", "date_created", "id"], unique=False
        )
        batch_op.create_index(
            "ix_runs_original",
            ["original_run_id"],
            unique=False,
            sqlite_where=sa.text("original_run_id IS NOT NULL"),
            postgresql_where=sa.text("original_run_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_runs_status_created", ["status", "date_created", "id"], unique=False
        )
        batch_op.create_index(
            "ix_runs_type_created", ["notification_type", "date_created", "id"], unique=False
        )

    op.create_table(
        "notification_logs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "notification_type",
            sa.Enum(
                "INITIATIVE_CREATION",
                "INITIATIVE_CUSTOM_SCHEDULE",
                "INITIATIVE_N_DAYS_LEFT",
                "SERVICE_REEVALUATED",
                "WEEKLY_REPORT",
                "BROKEN_OPEN_API_SPEC",
                "ENTITLEMENT_EXPIRATION",
                "ONCALL_ASSISTANT",
                "ONBOARDING_MESSAGE",
                "NOTIFY_INVALID_INTEGRATION",
                "ONCALL_PERSON_CHANGED",
                "ONCALL_STARTS_IN_N_DAYS",
                "TEAM_MEMBER_INVITATION",
                "PENDING_RULE_EXEMPTION",
                "TOKEN_EXPIRES_IN_N_DAYS",
                "SCHEDULED_SCORECARD_RULE_CREATION",
                "SCORECARD_RULE_ACTIVATES_IN_N_DAYS",
                "WORKFLOW_STATUS_UPDATE",
                "WORKFLOW_APPROVAL_PENDING",
                "VERIFICATION_PERIOD_STARTED",
                "VERIFICATION_PERIOD_REMINDER",
                "AI_ASSISTANT_WELCOME_MESSAGE",
                "ENTITY_SCORE_DROPPED",
                "ONBOARDING_WIZARD_STATE_COMPLETED",
                name="notification_type",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "medium",
            sa.Enum(
                "SLACK", "MICROSOFT_TEAMS", "EMAIL", "WEBHOOK", name="medium", native_enum=False
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "READY", "IGNORED", "FAILED", "DELIVERED", name="log_status", native_enum=False
            ),
            nullable=False,
        ),
        sa.Column(
            "recipient_type",
            sa.Enum("USER", "TEAM", "ENTITY", name="recipient_type", native_enum=False),
            nullable=False,
        ),
        sa.Column("recipient_user_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_email", sa.String(length=320), nullable=True),
        sa.Column("recipient_entity_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_channel", sa.String(length=255), nullable=True),
        sa.Column(
            "ignored_reason",
            sa.Enum(
                "USER_UNSUBSCRIBED",
                "WORKSPACE_DISABLED",
                "CHANNEL_DISABLED",
                "DUPLICATE",
                "CORTEX_EMPLOYEE",
                "NON_CORTEX_USERS_DISABLED",
                "UNSUPPORTED",
                name="ignored_reason",
                native_enum=False,
            ),
            nullable=True,
        ),
        sa.Column(
            "failed_reason",
            sa.Enum(
                "CHANNEL_NOT_FOUND",
                "MEMBER_EMAILS_NOT_FOUND",
                "MISSING_CONTENT",
                "CLIENT_ERROR",
                "BACKSTAGE_BASE_URL_MISSING",
                "NO_SEATS_LEFT",
                name="failed_reason",
                native_enum=False,
            ),
            nullable=True,
        ),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("date_created", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("date_updated", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("date_delivered", tidings.kit.orm.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "failed_reason = 'CHANNEL_NOT_FOUND' OR failed_reason = 'MEMBER_EMAILS_NOT_FOUND' OR failed_reason = 'MISSING_CONTENT' OR failed_reason = 'CLIENT_ERROR' OR failed_reason = 'BACKSTAGE_BASE_URL_MISSING' OR failed_reason = 'NO_SEATS_LEFT'",
            name=op.f("ck_notification_logs_failed_reason_valid"),
        ),
        sa.CheckConstraint(
            "ignored_reason = 'USER_UNSUBSCRIBED' OR ignored_reason = 'WORKSPACE_DISABLED' OR ignored_reason = 'CHANNEL_DISABLED' OR ignored_reason = 'DUPLICATE' OR ignored_reason = 'CORTEX_EMPLOYEE' OR ignored_reason = 'NON_CORTEX_USERS_DISABLED' OR ignored_reason = 'UNSUPPORTED'",
            name=op.f("ck_notification_logs_ignored_reason_valid"),
        ),
        sa.CheckConstraint(
            "medium = 'SLACK' OR medium = 'MICROSOFT_TEAMS' OR medium = 'EMAIL' OR medium = 'WEBHOOK'",
            name=op.f("ck_notification_logs_medium_valid"),
        ),
        sa.CheckConstraint(
            "notification_type = 'INITIATIVE_CREATION' OR notification_type = 'INITIATIVE_CUSTOM_SCHEDULE' OR notification_type = 'INITIATIVE_N_DAYS_LEFT' OR notification_type = 'SERVICE_REEVALUATED' OR notification_type = 'WEEKLY_REPORT' OR notification_type = 'BROKEN_OPEN_API_SPEC' OR notification_type = 'ENTITLEMENT_EXPIRATION' OR notification_type = 'ONCALL_ASSISTANT' OR notification_type = 'ONBOARDING_MESSAGE' OR notification_type = 'NOTIFY_INVALID_INTEGRATION' OR notification_type = 'ONCALL_PERSON_CHANGED' OR notification_type = 'ONCALL_STARTS_IN_N_DAYS' OR notification_type = 'TEAM_MEMBER_INVITATION' OR notification_type = 'PENDING_RULE_EXEMPTION' OR notification_type = 'TOKEN_EXPIRES_IN_N_DAYS' OR notification_type = 'SCHEDULED_SCORECARD_RULE_CREATION' OR notification_type = 'SCORECARD_RULE_ACTIVATES_IN_N_DAYS' OR notification_type = 'WORKFLOW_STATUS_UPDATE' OR notification_type = 'WORKFLOW_APPROVAL_PENDING' OR notification_type = 'VERIFICATION_PERIOD_STARTED' OR notification_type = 'VERIFICATION_PERIOD_REMINDER' OR notification_type = 'AI_ASSISTANT_WELCOME_MESSAGE' OR notification_type = 'ENTITY_SCORE_DROPPED' OR notification_type = 'ONBOARDING_WIZARD_STATE_COMPLETED'",
            name=op.f("ck_notification_logs_notification_type_valid"),
        ),
        sa.CheckConstraint(
            "recipient_type = 'USER' OR recipient_type = 'TEAM' OR recipient_type = 'ENTITY'",
            name=op.f("ck_notification_logs_recipient_type_valid"),
        ),
        sa.CheckConstraint(
            "status = 'READY' OR status = 'IGNORED' OR status = 'FAILED' OR status = 'DELIVERED'",
            name=op.f("ck_notification_logs_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["notification_runs.id"],
            name=op.f("fk_notification_logs_run_id_notification_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_logs")),
    )
    with op.batch_alter_table("notification_logs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_logs_channel_created",
            ["recipient_channel", "date_created", "id"],
            unique=False,
            sqlite_where=sa.text("recipient_channel IS NOT NULL"),
            postgresql_where=sa.text("recipient_channel IS NOT NULL"),
        )
        batch_op.create_index("ix_logs_created", ["date_created", "id"], unique=False)
        batch_op.create_index(
            "ix_logs_email_created",
            [sa.text("lower(recipient_email)"), "date_created", "id"],
            unique=False,
            sqlite_where=sa.text("recipient_email IS NOT NULL"),
            postgresql_where=sa.text("recipient_email IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_logs_entity_created",
            ["recipient_entity_id", "date_created", "id"],
            unique=False,
            sqlite_where=sa.text("recipient_entity_id IS NOT NULL"),
            postgresql_where=sa.text("recipient_entity_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_logs_failed_created",
            ["failed_reason", "date_created", "id"],
            unique=False,
            sqlite_where=sa.text("failed_reason IS NOT NULL"),
            postgresql_where=sa.text("failed_reason IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_logs_ignored_created",
            ["ignored_reason", "date_created", "id"],
            unique=False,
            sqlite_where=sa.text("ignored_reason IS NOT NULL"),
            postgresql_where=sa.text("ignored_reason IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_logs_run_created",
            ["run_id", "date_created", "id"],
            unique=False,
            sqlite_where=None,
            postgresql_where=None,
        )
        batch_op.create_index(
            "ix_logs_status_created",
            ["status", "date_created", "id"],
            unique=False,
            sqlite_where=None,
            postgresql_where=None,
        )
        batch_op.create_index(
            "ix_logs_medium_created",
            ["medium", "date_created", "id"],
            unique=False,
            sqlite_where=None,
            postgresql_where=None,
        )
        batch_op.create_index(
            "ix_logs_recipient_type_created",
            ["recipient_type", "date_created", "id"],
            unique=False,
            sqlite_where=None,
            postgresql_where=None,
        )
        batch_op.create_index(
            "ix_logs_type_created",
            ["notification_type", "date_created", "id"],
            unique=False,
            sqlite_where=None,
            postgresql_where=None,
        )

    op.create_table(
        "notification_run_objects",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("object_pk", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_pk"],
            ["notification_objects.pk"],
            name=op.f("fk_notification_run_objects_object_pk_notification_objects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["notification_runs.id"],
            name=op.f("fk_notification_run_objects_run_id_notification_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "object_pk", name=op.f("pk_notification_run_objects")),
    )
    with op.batch_alter_table("notification_run_objects", schema=None) as batch_op:
        batch_op.create_index("ix_run_objects_object", ["object_pk"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in (*tallies.create_statements(dialect), *search.create_statements(dialect)):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in (*search.drop_statements(dialect), *tallies.drop_statements(dialect)):
        op.execute(statement)
    with op.batch_alter_table("notification_run_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_run_objects_object")

    op.drop_table("notification_run_objects")
    with op.batch_alter_table("notification_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_logs_type_created", sqlite_where=None, postgresql_where=None)
        batch_op.drop_index("ix_logs_status_created", sqlite_where=None, postgresql_where=None)
        batch_op.drop_index("ix_logs_medium_created", sqlite_where=None, postgresql_where=None)
        batch_op.drop_index(
            "ix_logs_recipient_type_created", sqlite_where=None, postgresql_where=None
        )
        batch_op.drop_index("ix_logs_run_created", sqlite_where=None, postgresql_where=None)
        batch_op.drop_index(
            "ix_logs_ignored_created",
            sqlite_where=sa.text("ignored_reason IS NOT NULL"),
            postgresql_where=sa.text("ignored_reason IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_logs_failed_created",
            sqlite_where=sa.text("failed_reason IS NOT NULL"),
            postgresql_where=sa.text("failed_reason IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_logs_entity_created",
            sqlite_where=sa.text("recipient_entity_id IS NOT NULL"),
            postgresql_where=sa.text("recipient_entity_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_logs_email_created",
            sqlite_where=sa.text("recipient_email IS NOT NULL"),
            postgresql_where=sa.text("recipient_email IS NOT NULL"),
        )
        batch_op.drop_index("ix_logs_created")
        batch_op.drop_index(
            "ix_logs_channel_created",
            sqlite_where=sa.text("recipient_channel IS NOT NULL"),
            postgresql_where=sa.text("recipient_channel IS NOT NULL"),
        )

    op.drop_table("notification_logs")
    with op.batch_alter_table("notification_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_type_created")
        batch_op.drop_index("ix_runs_status_created")
        batch_op.drop_index(
            "ix_runs_original",
            sqlite_where=sa.text("original_run_id IS NOT NULL"),
            postgresql_where=sa.text("original_run_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_runs_medium_created")
        batch_op.drop_index(
            "ix_runs_ignored_created",
            sqlite_where=sa.text("ignored_reason IS NOT NULL"),
            postgresql_where=sa.text("ignored_reason IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_runs_failed_created",
            sqlite_where=sa.text("failed_reason IS NOT NULL"),
            postgresql_where=sa.text("failed_reason IS NOT NULL"),
        )
        batch_op.drop_index("ix_runs_created")
        batch_op.drop_index(
            "ix_runs_delivered_created",
            sqlite_where=sa.text("delivered_count >= 1"),
            postgresql_where=sa.text("delivered_count >= 1"),
        )

    op.drop_table("notification_runs")
    op.drop_table("notification_objects")
    op.drop_table("notification_log_tallies")
    op.drop_table("api_keys")
