"""screen.camera: whether the screen's camera is on (its page then shows the camera notice)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("screen") as batch:
        batch.add_column(sa.Column("camera", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("screen") as batch:
        batch.drop_column("camera")
