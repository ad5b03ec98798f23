"""Load a generated demo mall into the database and hand out its tokens.

The mall comes from ``seeds`` (deterministic), goes through the same validation as merchandiser
uploads, and its tokens are written to ``var/demo/tokens.json`` (git-ignored) so the simulator and
the person running the demo can use them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from screens.auth import create_token
from screens.db.session import make_engine
from screens.db.tables import Screen, Store
from screens.services import uploads
from seeds.generate import PRESETS, generate_mall

log = logging.getLogger(__name__)


def ensure_demo_mall(database_url: str, preset: str, tokens_path: Path, reload: bool = False) -> bool:
    """Load the preset's mall unless it is the one loaded last (noted beside the tokens); True if loaded.

    Switching presets loads the new mall over the old one; stores only the old preset had stay.
    """
    loaded = tokens_path.parent / "preset"
    if not reload and tokens_path.exists() and loaded.exists() and loaded.read_text() == preset:
        return False
    load_demo_mall(database_url, preset, tokens_path)
    loaded.write_text(preset)
    return True


def load_demo_mall(database_url: str, preset: str, tokens_path: Path, seed: int = 7) -> dict[str, Any]:
    """Upsert the preset's stores, screens, catalogs and coupons; create one token per role and screen."""
    n_stores, per_store = PRESETS[preset]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    mall = generate_mall(n_stores, per_store, seed, today)
    engine = make_engine(database_url)
    with Session(engine) as session:
        for store in mall.stores:
            session.merge(Store(**{k: store[k] for k in ("id", "name", "floor", "zone", "category")}))
        for screen in mall.screens:
            session.merge(
                Screen(id=screen["id"], kind=screen["kind"], store_id=screen.get("store_id"), zone=screen.get("zone"))
            )
        session.flush()
        for i, store in enumerate(mall.stores, start=1):
            sid = store["id"]
            rows = [{k: v for k, v in item.items() if k != "store_id"} for item in mall.catalog[sid]]
            uploads.store_catalog(session, sid, rows, "replace", "demo-loader")
            uploads.store_coupons(session, sid, mall.coupons[sid], "replace", "demo-loader")
            log.info(
                "loaded store %d/%d (%s): %d items, %d coupons",
                i,
                len(mall.stores),
                sid,
                len(rows),
                len(mall.coupons[sid]),
            )
        tokens = {
            "admin": create_token(session, "admin", label="demo"),
            "ops": create_token(session, "ops", label="demo"),
            "merchandiser": {
                "store_id": mall.stores[0]["id"],
                "token": create_token(session, "merchandiser", store_ids=[mall.stores[0]["id"]], label="demo"),
            },
            "devices": {
                s.id: create_token(session, "device", screen_id=s.id, label="demo")
                for s in session.exec(select(Screen))
            },
        }
        session.commit()
    engine.dispose()
    tokens_path.parent.mkdir(parents=True, exist_ok=True)
    tokens_path.write_text(json.dumps(tokens, indent=2))
    tokens_path.chmod(0o600)
    summary = {
        "stores": len(mall.stores),
        "screens": len(mall.screens),
        "items": mall.n_items,
        "coupons": sum(len(c) for c in mall.coupons.values()),
        "tokens": str(tokens_path),
    }
    log.info("demo mall loaded: %s", summary)
    return summary
