"""the catalog: users, entities with owners and channels, team members, scorecards and rules,
initiatives, on-call shifts, verification periods, workspace settings, user subscriptions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:28:00.931364
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tidings.kit.orm

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_entities",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cid", sa.String(length=18), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entities")),
        sa.UniqueConstraint("cid", name=op.f("uq_catalog_entities_cid")),
        sa.UniqueConstraint("tag", name=op.f("uq_catalog_entities_tag")),
    )
    with op.batch_alter_table("catalog_entities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_entities_entity_type"), ["entity_type"], unique=False
        )

    op.create_table(
        "catalog_initiatives",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cid", sa.String(length=18), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("scorecard_tag", sa.String(length=255), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("is_draft", sa.Boolean(), nullable=False),
        sa.Column("created_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("schedule_is_disabled", sa.Boolean(), nullable=True),
        sa.Column("schedule_time_interval", sa.Integer(), nullable=True),
        sa.Column(
            "schedule_time_unit",
            sa.Enum("DAY", "WEEK", "MONTH", name="time_unit", native_enum=False),
            nullable=True,
        ),
        sa.Column("reply_to_emails", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "schedule_time_unit = 'DAY' OR schedule_time_unit = 'WEEK' OR schedule_time_unit = 'MONTH'",
            name=op.f("ck_catalog_initiatives_schedule_time_unit_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_initiatives")),
        sa.UniqueConstraint("cid", name=op.f("uq_catalog_initiatives_cid")),
        sa.UniqueConstraint("tag", name=op.f("uq_catalog_initiatives_tag")),
    )
    op.create_table(
        "catalog_oncall_shifts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entity_tag", sa.String(length=255), nullable=False),
        sa.Column("user_email", sa.String(length=320), nullable=False),
        sa.Column("starts_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_oncall_shifts")),
        sa.UniqueConstraint(
            "source",
            "entity_tag",
            "user_email",
            "starts_at",
            name=op.f("uq_catalog_oncall_shifts_source"),
        ),
    )
    with op.batch_alter_table("catalog_oncall_shifts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_oncall_shifts_starts_at"), ["starts_at"], unique=False
        )

    op.create_table(
        "catalog_scorecards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("notifications_enabled", sa.Boolean(), nullable=True),
        sa.Column("score_drop_notifications_enabled", sa.Boolean(), nullable=False),
        sa.Column("entity_types", sa.JSON(), nullable=False),
        sa.Column("entity_tags", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_scorecards")),
        sa.UniqueConstraint("tag", name=op.f("uq_catalog_scorecards_tag")),
    )
    op.create_table(
        "catalog_team_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_tag", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("notifications_enabled", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_team_members")),
        sa.UniqueConstraint(
            "team_tag", "email", "source", name=op.f("uq_catalog_team_members_team_tag")
        ),
    )
    with op.batch_alter_table("catalog_team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_team_members_email"), ["email"], unique=False)

    op.create_table(
        "catalog_users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slack_user_id", sa.String(length=64), nullable=True),
        sa.Column("teams_user_id", sa.String(length=255), nullable=True),
        sa.Column(
            "role", sa.Enum("ADMIN", "MEMBER", name="user_role", native_enum=False), nullable=False
        ),
        sa.Column("is_cortex_employee", sa.Boolean(), nullable=False),
        sa.Column("backstage_name", sa.String(length=255), nullable=True),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "role = 'ADMIN' OR role = 'MEMBER'", name=op.f("ck_catalog_users_role_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_users")),
        sa.UniqueConstraint("backstage_name", name=op.f("uq_catalog_users_backstage_name")),
        sa.UniqueConstraint("email", name=op.f("uq_catalog_users_email")),
    )
    op.create_table(
        "catalog_verification_periods",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("entity_types", sa.JSON(), nullable=False),
        sa.Column("entity_tags", sa.JSON(), nullable=False),
        sa.Column("starts_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", tidings.kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reminder_every_days", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_verification_periods")),
        sa.UniqueConstraint("source", "name", name=op.f("uq_catalog_verification_periods_source")),
    )
    op.create_table(
        "catalog_workspace_mediums",
        sa.Column(
            "medium",
            sa.Enum(
                "SLACK", "MICROSOFT_TEAMS", "EMAIL", "WEBHOOK", name="medium", native_enum=False
            ),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "medium = 'SLACK' OR medium = 'MICROSOFT_TEAMS' OR medium = 'EMAIL' OR medium = 'WEBHOOK'",
            name=op.f("ck_catalog_workspace_mediums_medium_valid"),
        ),
        sa.PrimaryKeyConstraint("medium", name=op.f("pk_catalog_workspace_mediums")),
    )
    op.create_table(
        "catalog_workspace_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("non_cortex_users_enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "weekly_report_day",
            sa.Enum(
                "MONDAY",
                "TUESDAY",
                "WEDNESDAY",
                "THURSDAY",
                "FRIDAY",
                "SATURDAY",
                "SUNDAY",
                name="weekday",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("weekly_report_hour", sa.Integer(), nullable=False),
        sa.Column("weekly_report_time_zone", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "weekly_report_day = 'MONDAY' OR weekly_report_day = 'TUESDAY' OR weekly_report_day = 'WEDNESDAY' OR weekly_report_day = 'THURSDAY' OR weekly_report_day = 'FRIDAY' OR weekly_report_day = 'SATURDAY' OR weekly_report_day = 'SUNDAY'",
            name=op.f("ck_catalog_workspace_settings_weekly_report_day_valid"),
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalog_workspace_settings_single_row")),
        sa.CheckConstraint(
            "weekly_report_hour >= 0 AND weekly_report_hour <= 23",
            name=op.f("ck_catalog_workspace_settings_hour"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_workspace_settings")),
    )
    op.create_table(
        "catalog_workspace_types",
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
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "medium = 'SLACK' OR medium = 'MICROSOFT_TEAMS' OR medium = 'EMAIL' OR medium = 'WEBHOOK'",
            name=op.f("ck_catalog_workspace_types_medium_valid"),
        ),
        sa.CheckConstraint(
            "notification_type = 'INITIATIVE_CREATION' OR notification_type = 'INITIATIVE_CUSTOM_SCHEDULE' OR notification_type = 'INITIATIVE_N_DAYS_LEFT' OR notification_type = 'SERVICE_REEVALUATED' OR notification_type = 'WEEKLY_REPORT' OR notification_type = 'BROKEN_OPEN_API_SPEC' OR notification_type = 'ENTITLEMENT_EXPIRATION' OR notification_type = 'ONCALL_ASSISTANT' OR notification_type = 'ONBOARDING_MESSAGE' OR notification_type = 'NOTIFY_INVALID_INTEGRATION' OR notification_type = 'ONCALL_PERSON_CHANGED' OR notification_type = 'ONCALL_STARTS_IN_N_DAYS' OR notification_type = 'TEAM_MEMBER_INVITATION' OR notification_type = 'PENDING_RULE_EXEMPTION' OR notification_type = 'TOKEN_EXPIRES_IN_N_DAYS' OR notification_type = 'SCHEDULED_SCORECARD_RULE_CREATION' OR notification_type = 'SCORECARD_RULE_ACTIVATES_IN_N_DAYS' OR notification_type = 'WORKFLOW_STATUS_UPDATE' OR notification_type = 'WORKFLOW_APPROVAL_PENDING' OR notification_type = 'VERIFICATION_PERIOD_STARTED' OR notification_type = 'VERIFICATION_PERIOD_REMINDER' OR notification_type = 'AI_ASSISTANT_WELCOME_MESSAGE' OR notification_type = 'ENTITY_SCORE_DROPPED' OR notification_type = 'ONBOARDING_WIZARD_STATE_COMPLETED'",
            name=op.f("ck_catalog_workspace_types_notification_type_valid"),
        ),
        sa.PrimaryKeyConstraint(
            "notification_type", "medium", name=op.f("pk_catalog_workspace_types")
        ),
    )
    op.create_table(
        "catalog_entity_channels",
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "medium",
            sa.Enum(
                "SLACK", "MICROSOFT_TEAMS", "EMAIL", "WEBHOOK", name="medium", native_enum=False
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("notifications_enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "medium = 'SLACK' OR medium = 'MICROSOFT_TEAMS'",
            name=op.f("ck_catalog_entity_channels_medium_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["catalog_entities.id"],
            name=op.f("fk_catalog_entity_channels_entity_id_catalog_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "entity_id", "medium", "name", name=op.f("pk_catalog_entity_channels")
        ),
    )
    op.create_table(
        "catalog_entity_owners",
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("GROUP", "EMAIL", "USER", name="owner_kind", native_enum=False),
            nullable=False,
        ),
        sa.Column("group_name", sa.String(length=255), nullable=True),
        sa.Column(
            "provider",
            sa.Enum(
                "ACTIVE_DIRECTORY",
                "BAMBOO_HR",
                "CORTEX",
                "GITHUB",
                "GITLAB",
                "GOOGLE",
                "OKTA",
                "OPSGENIE",
                "WORKDAY",
                "SERVICE_NOW",
                name="group_provider",
                native_enum=False,
            ),
            nullable=True,
        ),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("user_ref", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "inheritance",
            sa.Enum("APPEND", "FALLBACK", "NONE", name="owner_inheritance", native_enum=False),
            nullable=True,
        ),
        sa.CheckConstraint(
            "inheritance = 'APPEND' OR inheritance = 'FALLBACK' OR inheritance = 'NONE'",
            name=op.f("ck_catalog_entity_owners_inheritance_valid"),
        ),
        sa.CheckConstraint(
            "kind = 'GROUP' OR kind = 'EMAIL' OR kind = 'USER'",
            name=op.f("ck_catalog_entity_owners_kind_valid"),
        ),
        sa.CheckConstraint(
            "provider = 'ACTIVE_DIRECTORY' OR provider = 'BAMBOO_HR' OR provider = 'CORTEX' OR provider = 'GITHUB' OR provider = 'GITLAB' OR provider = 'GOOGLE' OR provider = 'OKTA' OR provider = 'OPSGENIE' OR provider = 'WORKDAY' OR provider = 'SERVICE_NOW'",
            name=op.f("ck_catalog_entity_owners_provider_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["catalog_entities.id"],
            name=op.f("fk_catalog_entity_owners_entity_id_catalog_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entity_id", "position", name=op.f("pk_catalog_entity_owners")),
    )
    with op.batch_alter_table("catalog_entity_owners", schema=None) as batch_op:
        batch_op.create_index("ix_catalog_entity_owners_email", ["email"], unique=False)
        batch_op.create_index("ix_catalog_entity_owners_group", ["group_name"], unique=False)

    op.create_table(
        "catalog_scorecard_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scorecard_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("activates_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["scorecard_id"],
            ["catalog_scorecards.id"],
            name=op.f("fk_catalog_scorecard_rules_scorecard_id_catalog_scorecards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_scorecard_rules")),
        sa.UniqueConstraint(
            "scorecard_id", "name", name=op.f("uq_catalog_scorecard_rules_scorecard_id")
        ),
    )
    op.create_table(
        "catalog_user_subscriptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
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
            nullable=True,
        ),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "medium = 'SLACK' OR medium = 'MICROSOFT_TEAMS' OR medium = 'EMAIL' OR medium = 'WEBHOOK'",
            name=op.f("ck_catalog_user_subscriptions_medium_valid"),
        ),
        sa.CheckConstraint(
            "notification_type = 'INITIATIVE_CREATION' OR notification_type = 'INITIATIVE_CUSTOM_SCHEDULE' OR notification_type = 'INITIATIVE_N_DAYS_LEFT' OR notification_type = 'SERVICE_REEVALUATED' OR notification_type = 'WEEKLY_REPORT' OR notification_type = 'BROKEN_OPEN_API_SPEC' OR notification_type = 'ENTITLEMENT_EXPIRATION' OR notification_type = 'ONCALL_ASSISTANT' OR notification_type = 'ONBOARDING_MESSAGE' OR notification_type = 'NOTIFY_INVALID_INTEGRATION' OR notification_type = 'ONCALL_PERSON_CHANGED' OR notification_type = 'ONCALL_STARTS_IN_N_DAYS' OR notification_type = 'TEAM_MEMBER_INVITATION' OR notification_type = 'PENDING_RULE_EXEMPTION' OR notification_type = 'TOKEN_EXPIRES_IN_N_DAYS' OR notification_type = 'SCHEDULED_SCORECARD_RULE_CREATION' OR notification_type = 'SCORECARD_RULE_ACTIVATES_IN_N_DAYS' OR notification_type = 'WORKFLOW_STATUS_UPDATE' OR notification_type = 'WORKFLOW_APPROVAL_PENDING' OR notification_type = 'VERIFICATION_PERIOD_STARTED' OR notification_type = 'VERIFICATION_PERIOD_REMINDER' OR notification_type = 'AI_ASSISTANT_WELCOME_MESSAGE' OR notification_type = 'ENTITY_SCORE_DROPPED' OR notification_type = 'ONBOARDING_WIZARD_STATE_COMPLETED'",
            name=op.f("ck_catalog_user_subscriptions_notification_type_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["catalog_users.id"],
            name=op.f("fk_catalog_user_subscriptions_user_id_catalog_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_user_subscriptions")),
        sa.UniqueConstraint(
            "user_id",
            "notification_type",
            "medium",
            name=op.f("uq_catalog_user_subscriptions_user_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("catalog_user_subscriptions")
    op.drop_table("catalog_scorecard_rules")
    with op.batch_alter_table("catalog_entity_owners", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_entity_owners_group")
        batch_op.drop_index("ix_catalog_entity_owners_email")

    op.drop_table("catalog_entity_owners")
    op.drop_table("catalog_entity_channels")
    op.drop_table("catalog_workspace_types")
    op.drop_table("catalog_workspace_settings")
    op.drop_table("catalog_workspace_mediums")
    op.drop_table("catalog_verification_periods")
    op.drop_table("catalog_users")
    with op.batch_alter_table("catalog_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_team_members_email"))

    op.drop_table("catalog_team_members")
    op.drop_table("catalog_scorecards")
    with op.batch_alter_table("catalog_oncall_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_oncall_shifts_starts_at"))

    op.drop_table("catalog_oncall_shifts")
    op.drop_table("catalog_initiatives")
    with op.batch_alter_table("catalog_entities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_entities_entity_type"))

    op.drop_table("catalog_entities")
