"""rollup_plays keyed by pair number (rollup_play_names): the report's GROUP BY sorts one integer (issue 17)

The proof-of-play report groups a window's rows per (screen, coupon); SQLite sorts a week's rows
about twice as fast by one integer as by two strings. Screens and coupons are numbered in name
order, and rows are copied across keyed by screen number × 2^24 + coupon number
(:func:`screens.db.rollups.pair_number`). A database coming from before 0006 gets every rollup
filled from the log here, now that the play rollup has its final form (0006 only made the table).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

PAIR_SHIFT = 24
"""As :data:`screens.db.rollups.PAIR_SHIFT` when this revision was written."""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COUNTS = (
    "impressions",
    "with_audience",
    "faces",
    "attention_faces",
    "attentive",
    "claims",
    "first_shown",
    "last_shown",
)


def _plays(name: str, *key: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("grain", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("bucket", sa.BigInteger(), primary_key=True, autoincrement=False),
        *key,
        *(sa.Column(n, sa.Integer(), nullable=False, server_default="0") for n in COUNTS[:4]),
        sa.Column("attentive", sa.Float(), nullable=False, server_default="0"),
        sa.Column("claims", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("first_shown", sa.BigInteger(), nullable=True),
        sa.Column("last_shown", sa.BigInteger(), nullable=True),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.create_table(
        "rollup_play_names",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.UniqueConstraint("kind", "name"),
    )
    for kind in ("screen", "coupon"):
        op.execute(
            f"INSERT INTO rollup_play_names (kind, name)"
            f" SELECT DISTINCT '{kind}', {kind}_id FROM rollup_plays ORDER BY {kind}_id"
        )
    _plays("rollup_plays_numbered", sa.Column("pair_id", sa.BigInteger(), primary_key=True, autoincrement=False))
    counts = ", ".join(COUNTS)
    op.execute(
        f"INSERT INTO rollup_plays_numbered (grain, bucket, pair_id, {counts})"
        f" SELECT r.grain, r.bucket, s.id * {1 << PAIR_SHIFT} + c.id, {', '.join(f'r.{c}' for c in COUNTS)}"
        " FROM rollup_plays r"
        " JOIN rollup_play_names s ON s.kind = 'screen' AND s.name = r.screen_id"
        " JOIN rollup_play_names c ON c.kind = 'coupon' AND c.name = r.coupon_id"
        " ORDER BY r.grain, r.bucket, s.id, c.id"
    )
    op.drop_table("rollup_plays")
    op.rename_table("rollup_plays_numbered", "rollup_plays")
    if op.get_bind().execute(sa.text("SELECT count(*) FROM rollup_plays")).scalar_one() == 0:
        _fill_rollups()


def _fill_rollups() -> None:
    """Every rollup from the log with the current settings (crowd window, audience half-life)."""
    from sqlmodel import Session

    from screens.services.rebuild import rebuild
    from screens.services.rollups import RollupConfig
    from screens.settings import Settings

    settings = Settings()
    config = RollupConfig(settings.crowd_window_s, settings.audience_half_life_days * 86_400.0)
    session = Session(bind=op.get_bind())
    rebuild(session, config, None, commit=False)
    session.flush()


def downgrade() -> None:
    _plays(
        "rollup_plays_named",
        sa.Column("screen_id", sa.String(64), primary_key=True),
        sa.Column("coupon_id", sa.String(64), primary_key=True),
    )
    counts = ", ".join(COUNTS)
    op.execute(
        f"INSERT INTO rollup_plays_named (grain, bucket, screen_id, coupon_id, {counts})"
        f" SELECT r.grain, r.bucket, s.name, c.name, {', '.join(f'r.{c}' for c in COUNTS)} FROM rollup_plays r"
        f" JOIN rollup_play_names s ON s.kind = 'screen' AND s.id = r.pair_id / {1 << PAIR_SHIFT}"
        f" JOIN rollup_play_names c ON c.kind = 'coupon' AND c.id = r.pair_id % {1 << PAIR_SHIFT}"
    )
    op.drop_table("rollup_plays")
    op.rename_table("rollup_plays_named", "rollup_plays")
    op.drop_table("rollup_play_names")
