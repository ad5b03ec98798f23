"""rollups kept at ingest; PostgreSQL event log partitioned by day (issue 17)

The rollup tables are filled from the events already logged by revision 0007 (the rebuild that
fills them is the service's current code, which writes every rollup of the latest revision). On
PostgreSQL the event log becomes a table partitioned by day with the key ``(event_id, ts)``;
existing rows are copied into their day's partition and their ids into the ``event_ledger`` that
keeps ids unique on their own.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:00:00
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_KEY = sa.BigInteger()
_CLUSTERED = {"sqlite_with_rowid": False}


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def _share(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=False, server_default="0")


def _rollup_tables() -> None:
    op.create_table(
        "rollup_traffic",
        sa.Column("bucket", _KEY, primary_key=True, autoincrement=False),
        _count("visits"),
        **_CLUSTERED,
    )
    op.create_table(
        "rollup_visits",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("bucket", _KEY, primary_key=True, autoincrement=False),
        sa.Column("cell", sa.String(32), primary_key=True),
        _count("visits"),
        **_CLUSTERED,
    )
    op.create_table(
        "rollup_coupons",
        sa.Column("coupon_id", sa.String(64), primary_key=True),
        sa.Column("grain", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("bucket", _KEY, primary_key=True, autoincrement=False),
        *(_count(n) for n in ("impressions", "claims", "unattributed", "flagged", "explored")),
        **_CLUSTERED,
    )
    op.create_index(
        "ix_rollup_coupons_grain_bucket",
        "rollup_coupons",
        ["grain", "bucket", "coupon_id", "impressions", "claims", "flagged", "explored"],
    )
    op.create_table(
        "rollup_flow",
        sa.Column("screen_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("grain", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("bucket", _KEY, primary_key=True, autoincrement=False),
        _count("impressions"),
        _count("claims"),
        **_CLUSTERED,
    )
    op.create_index(
        "ix_rollup_flow_grain_bucket",
        "rollup_flow",
        ["grain", "bucket", "screen_id", "store_id", "impressions", "claims"],
    )
    op.create_table(
        "rollup_coupon_cells",
        sa.Column("coupon_id", sa.String(64), primary_key=True),
        sa.Column("grain", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("bucket", _KEY, primary_key=True, autoincrement=False),
        sa.Column("cell", sa.String(32), primary_key=True),
        _share("impressions"),
        _share("claims"),
        _count("faces"),
        **_CLUSTERED,
    )
    op.create_table(
        "rollup_store_audience",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("t_ref", _KEY, primary_key=True, autoincrement=False),
        sa.Column("daypart", sa.String(16), primary_key=True),
        sa.Column("cell", sa.String(32), primary_key=True),
        _share("weight"),
        **_CLUSTERED,
    )


def _partition_event_log() -> None:
    from screens.db.partitions import DAYS_AHEAD, ensure_partitions
    from screens.settings import Settings

    conn = op.get_bind()
    op.execute("ALTER TABLE event_log RENAME TO event_log_unpartitioned")
    op.execute("ALTER TABLE event_log_unpartitioned RENAME CONSTRAINT event_log_pkey TO event_log_unpartitioned_pkey")
    op.execute("ALTER INDEX ix_event_log_type_ts RENAME TO ix_event_log_unpartitioned_type_ts")
    op.execute(
        "CREATE TABLE event_log ("
        " event_id VARCHAR(36) NOT NULL, type VARCHAR NOT NULL, ts TIMESTAMP WITH TIME ZONE NOT NULL,"
        " screen_id VARCHAR, store_id VARCHAR, payload JSON NOT NULL, received_at TIMESTAMP WITH TIME ZONE NOT NULL,"
        " CONSTRAINT event_log_pkey PRIMARY KEY (event_id, ts)"
        ") PARTITION BY RANGE (ts)"
    )
    op.execute("CREATE INDEX ix_event_log_type_ts ON event_log (type, ts)")
    today = datetime.now(UTC).date()
    first, last = conn.execute(sa.text("SELECT min(ts), max(ts) FROM event_log_unpartitioned")).one()
    retention = timedelta(days=Settings().event_retention_days)
    start = min(first.astimezone(UTC).date(), today - retention) if first else today - retention
    end = max(last.astimezone(UTC).date(), today + timedelta(DAYS_AHEAD)) if last else today + timedelta(DAYS_AHEAD)
    ensure_partitions(conn, start, end)
    op.execute("INSERT INTO event_log SELECT * FROM event_log_unpartitioned")
    op.execute("DROP TABLE event_log_unpartitioned")
    op.execute("CREATE TABLE event_ledger (event_id VARCHAR(36) PRIMARY KEY, ts TIMESTAMP WITH TIME ZONE NOT NULL)")
    op.execute("CREATE INDEX ix_event_ledger_ts ON event_ledger (ts)")
    op.execute("INSERT INTO event_ledger SELECT event_id, ts FROM event_log")


def upgrade() -> None:
    _rollup_tables()
    if op.get_bind().dialect.name == "postgresql":
        _partition_event_log()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE event_log RENAME TO event_log_partitioned")
        op.execute("ALTER TABLE event_log_partitioned RENAME CONSTRAINT event_log_pkey TO event_log_partitioned_pkey")
        op.execute("ALTER INDEX ix_event_log_type_ts RENAME TO ix_event_log_partitioned_type_ts")
        op.execute(
            "CREATE TABLE event_log (event_id VARCHAR(36) PRIMARY KEY, type VARCHAR NOT NULL,"
            " ts TIMESTAMP WITH TIME ZONE NOT NULL, screen_id VARCHAR, store_id VARCHAR, payload JSON NOT NULL,"
            " received_at TIMESTAMP WITH TIME ZONE NOT NULL)"
        )
        op.execute("CREATE INDEX ix_event_log_type_ts ON event_log (type, ts)")
        op.execute("INSERT INTO event_log SELECT * FROM event_log_partitioned ON CONFLICT (event_id) DO NOTHING")
        op.execute("DROP TABLE event_log_partitioned")
        op.execute("DROP TABLE event_ledger")
    names = ("rollup_store_audience", "rollup_coupon_cells", "rollup_flow", "rollup_coupons", "rollup_visits")
    for name in (*names, "rollup_traffic"):
        op.drop_table(name)
