"""proof-of-play rollup; every rollup filled from the events already logged (issue 17)

``rollup_plays`` keeps, per lead-in screen, coupon and bucket, the showings, the crowd they were
shown to and the claims, so the proof-of-play report no longer reads the raw log. Every rollup is
then rebuilt from the log with the current settings (crowd window, audience half-life), by 0007
since that revision (the rebuild writes the play rollup in 0007's form): this is where a database
upgraded from before 0004 gets its rollups too.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "rollup_plays",
        sa.Column("grain", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("bucket", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("screen_id", sa.String(64), primary_key=True),
        sa.Column("coupon_id", sa.String(64), primary_key=True),
        *(_count(n) for n in ("impressions", "with_audience", "faces", "attention_faces")),
        sa.Column("attentive", sa.Float(), nullable=False, server_default="0"),
        _count("claims"),
        sa.Column("first_shown", sa.BigInteger(), nullable=True),
        sa.Column("last_shown", sa.BigInteger(), nullable=True),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("rollup_plays")
