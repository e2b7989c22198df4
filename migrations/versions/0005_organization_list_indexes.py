"""Organization list indexes end with id (the lists' tie-break); index for "recently updated".

Revision ID: 0005
Revises: 0004
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME_INDEXES = {
    "ix_organizations_workspace_id_name_key": ["workspace_id", "name_key"],
    "ix_organizations_workspace_id_stage_name_key": ["workspace_id", "stage", "name_key"],
    "ix_organizations_workspace_id_kind_name_key": ["workspace_id", "kind", "name_key"],
}


def upgrade():
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        for name, columns in NAME_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [*columns, "id"], unique=False)
        batch_op.create_index(
            "ix_organizations_workspace_id_updated_at",
            ["workspace_id", "updated_at", "id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index("ix_organizations_workspace_id_updated_at")
        for name, columns in NAME_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
