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
from seeds.images import write_item_images

log = logging.getLogger(__name__)


DATA_VERSION = "2"
"""Bumped when what the loader writes changes (2: local product pictures), so older demos reload."""
MEDIA_URL = "/media/items"


def ensure_demo_mall(
    database_url: str, preset: str, tokens_path: Path, reload: bool = False, media_dir: Path | None = None
) -> bool:
    """Load the preset's mall unless it is the one loaded last (noted beside the tokens); True if loaded.

    Switching presets loads the new mall over the old one; stores only the old preset had stay.
    """
    loaded = tokens_path.parent / "preset"
    marker = f"{preset}:{DATA_VERSION}"
    pictures = media_dir is None or any((media_dir / "items").glob("*.svg"))
    if not reload and pictures and tokens_path.exists() and loaded.exists() and loaded.read_text() == marker:
        return False
    load_demo_mall(database_url, preset, tokens_path, media_dir=media_dir)
    loaded.write_text(marker)
    return True


def load_demo_mall(
    database_url: str, preset: str, tokens_path: Path, seed: int = 7, media_dir: Path | None = None
) -> dict[str, Any]:
    """Upsert the preset's stores, screens, catalogs and coupons; create one token per role and screen.

    With ``media_dir``, the items' pictures are drawn into ``media_dir/items`` (served at /media/) and
    the catalog points at them instead of the generator's unreachable image host.
    """
    n_stores, per_store = PRESETS[preset]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    mall = generate_mall(n_stores, per_store, seed, today)
    if media_dir is not None:
        log.info("drew %d product pictures", write_item_images(mall.catalog, media_dir / "items", MEDIA_URL))
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
