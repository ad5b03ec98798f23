"""`vitrine demo`: the mall is loaded once per preset, and the printed mirror is the busiest one."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from kiosk_client._sim_mall import load_sim_mall
from screens.db.session import upgrade
from screens.tools.demo_mall import ensure_demo_mall


def test_the_mall_is_loaded_again_only_when_the_preset_changes(tmp_path: Path):
    url, tokens = f"sqlite:///{tmp_path}/vitrine.db", tmp_path / "demo" / "tokens.json"
    upgrade(url)
    assert ensure_demo_mall(url, "small", tokens)
    assert not ensure_demo_mall(url, "small", tokens)
    (tokens.parent / "preset").write_text("full")  # as a previous `--preset full` run leaves it
    assert ensure_demo_mall(url, "small", tokens)
    assert ensure_demo_mall(url, "small", tokens, reload=True)


def test_the_printed_mirror_is_among_those_simulated_shoppers_try_on_most():
    mall = load_sim_mall("full", 7)
    rng, tried = random.Random(5), Counter[str]()
    for _ in range(3000):
        for store in mall.draw_shopper(rng).stores_to_visit(rng):
            for mirror in mall.mirrors.get(store, []):
                tried[mirror] += 1 / len(mall.mirrors[store])
    assert mall.busiest_mirror() in [m for m, _ in tried.most_common(5)]
