"""Real baskets through the service's own path: ``vitrine eval mirror --dataset ../shared/data/baskets-hm``.

A retailer's data fed as a new user would: the articles become one store's catalog through the
shipped column mapping (``docs/examples/hm-catalog-mapping.yaml``, the mapped-import code of the
upload), the same-day baskets of the training split become mirror sessions logged as events (a
try-on per item, then the purchase, no camera), ``vitrine train mirror``'s trainer publishes the
models, and the answers come from a :class:`~recsys.mirror.recommender.MirrorRecommender` loaded the
way a worker loads it (catalog from the database, published models, compatibility table in force).

Each held-out basket with two items or more is tried on by its first item, with no session and no
crowd profile; a hit is another item of the basket among the 10 similar (*similar*), the 10
complementary (*complementary*) or the 20 together (*both*). Baselines, 20 items each: *global
popularity* (the most bought items of the training split) and *category popularity* (the most
bought items of the categories the basket's other items belong to — an oracle: the mirror does not
know them). The split is a seeded shuffle of the baskets. ``--validation`` splits the training part
once more with the same seed and scores on that inner part instead: weights are tuned there, never
on the held-out baskets.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
from sqlmodel import Session

from recsys.lab.basket_probe import probe_rates
from recsys.mirror.artifacts import load_mirror_models
from recsys.mirror.compatibility import DEFAULT_MIN_SUPPORT
from recsys.mirror.models.als import DEFAULT_PURCHASE_WEIGHT
from recsys.mirror.recommender import MirrorRecommender
from screens.auth import Principal
from screens.bus import make_bus
from screens.db.session import make_engine, upgrade
from screens.db.tables import Screen, Store
from screens.services import uploads
from screens.services.events import IntakeConfig, ScreenInfo, ingest
from screens.services.mirror import catalog_mapping, compat
from screens.services.mirror.service import MIRROR, load_items
from screens.services.mirror.training import train_and_maybe_publish
from screens.services.model_pointers import current_version
from screens.services.session_window import SessionPolicy
from screens.settings import Settings

log = logging.getLogger(__name__)
STORE: Final = "hm"
SCREEN: Final = "mirror-hm"
K: Final = 10
MAPPING: Final = Path(__file__).resolve().parents[2] / "docs" / "examples" / "hm-catalog-mapping.yaml"
_ADMIN: Final = Principal(token_id=0, role="admin")


@dataclass
class Hits:
    """Hit counts over the held-out baskets, one per list."""

    n: int = 0
    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, name: str, shown: Sequence[str], others: set[str]) -> None:
        self.hits[name] += bool(others & set(shown))

    def rate(self, name: str) -> float:
        return self.hits[name] / self.n if self.n else float("nan")


def read_baskets(transactions: Path) -> list[list[str]]:
    """One basket per customer and day, its distinct articles in receipt order."""
    baskets: dict[tuple[str, str], list[str]] = {}
    with transactions.open(newline="") as fh:
        for row in csv.DictReader(fh):
            items = baskets.setdefault((row["customer_id"], row["t_dat"]), [])
            if row["article_id"] not in items:
                items.append(row["article_id"])
    return list(baskets.values())


def export_with_prices(articles: Path, transactions: Path) -> bytes:
    """The articles as a retailer would export them: with a ``price`` column (mean selling price)."""
    paid: dict[str, list[float]] = defaultdict(list)
    with transactions.open(newline="") as fh:
        for row in csv.DictReader(fh):
            paid[row["article_id"]].append(float(row["price"]))
    out = io.StringIO()
    with articles.open(newline="") as fh:
        reader = csv.DictReader(fh)
        writer = csv.DictWriter(out, [*(reader.fieldnames or []), "price"])
        writer.writeheader()
        for row in reader:
            prices = paid.get(row["article_id"])
            writer.writerow({**row, "price": f"{np.mean(prices):.6f}" if prices else ""})
    return out.getvalue().encode()


def split_baskets(baskets: list[list[str]], seed: int, test_fraction: float) -> tuple[list[list[str]], list[list[str]]]:
    """Seeded shuffle; the test part keeps only baskets of two items or more (one item has no partner)."""
    order = np.random.default_rng(seed).permutation(len(baskets))
    cut = int(round(len(baskets) * (1 - test_fraction)))
    train = [baskets[i] for i in order[:cut]]
    test = [baskets[i] for i in order[cut:] if len(baskets[i]) >= 2]
    return train, test


def session_events(train: list[list[str]], start: datetime) -> list[dict[str, Any]]:
    """Each training basket as a fitting session: a try-on per item a minute apart, then the purchase."""
    events: list[dict[str, Any]] = []
    for n, basket in enumerate(train):
        at, session_id = start + timedelta(minutes=10 * n), f"basket-{n}"
        for j, sku in enumerate(basket):
            events.append(
                _event(at + timedelta(minutes=j), type="try_on", screen_id=SCREEN, sku=sku, session_id=session_id)
            )
        later = at + timedelta(minutes=len(basket) + 1)
        events.append(_event(later, type="purchase", store_id=STORE, skus=basket, session_id=session_id))
    return events


def _event(at: datetime, **fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "ts": at.isoformat(), **fields}


@dataclass(frozen=True)
class TrainedMirror:
    """The recommender a worker would hold after training on ``train``, with the baskets it is scored on."""

    rec: MirrorRecommender
    train: list[list[str]]
    test: list[list[str]]
    parts: dict[str, bool]


def train_on_baskets(
    dataset: Path,
    seed: int = 1,
    test_fraction: float = 0.2,
    factors: int = 32,
    iterations: int = 12,
    workdir: Path | None = None,
    validation: bool = False,
    **training: Any,
) -> TrainedMirror:
    """Import, split, log, train; ``validation`` splits the training part again (the held-out part stays unread)."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        url = f"sqlite:///{tmp}/vitrine.db"
        upgrade(url)
        engine = make_engine(url)
        try:
            baskets = read_baskets(dataset / "transactions-dev.csv")
            train, test = split_baskets(baskets, seed, test_fraction)
            if validation:  # tune on part of the training baskets; the held-out ones stay unseen
                train, test = split_baskets(train, seed, test_fraction)
            log.info("%d baskets: %d train, %d held-out with 2+ items", len(baskets), len(train), len(test))
            _import_catalog(engine, dataset)
            _log_sessions(engine, train)
            started = time.perf_counter()
            report = train_and_maybe_publish(
                engine,
                Path(tmp) / "models",
                None,
                window_s=60.0,
                force=True,
                factors=factors,
                iterations=iterations,
                **training,
            )
            log.info("trained in %.1fs: %s", time.perf_counter() - started, report.as_dict()["parts"])
            rec = _worker_recommender(engine, Path(tmp) / "models")
        finally:
            engine.dispose()
    return TrainedMirror(rec, train, test, report.parts)


def evaluate_baskets(dataset: Path, seed: int = 1, **options: Any) -> dict[str, Any]:
    """Train (see :func:`train_on_baskets`), answer: ``{"rows": {name: {similar, complementary, both}}, …}``."""
    trained = train_on_baskets(dataset, seed, **options)
    rows = _score(trained.rec, trained.train, trained.test)
    return {
        "rows": rows,
        "n_train": len(trained.train),
        "n_test": len(trained.test),
        "seed": seed,
        "parts": trained.parts,
    }


def _import_catalog(engine: Any, dataset: Path) -> None:
    mapping = catalog_mapping.load_mapping(MAPPING.read_text())
    raw = catalog_mapping.mapped_rows(
        mapping, export_with_prices(dataset / "articles.csv", dataset / "transactions-dev.csv"), "text/csv"
    )
    with Session(engine) as session:
        session.add(Store(id=STORE, name="H&M", floor=0, zone="ground", category="fashion"))
        session.flush()
        session.add(Screen(id=SCREEN, kind="mirror", store_id=STORE, zone="fitting rooms"))
        session.flush()
        uploads.store_catalog(session, STORE, raw, "replace", "eval")
        session.commit()


def _log_sessions(engine: Any, train: list[list[str]]) -> None:
    bus = make_bus(None)
    start = datetime.now(UTC) - timedelta(minutes=10 * len(train) + 60)
    screens = {SCREEN: ScreenInfo("mirror", STORE)}
    intake = IntakeConfig.from_settings(Settings(database_url=str(engine.url)))
    events = session_events(train, start)
    sessions = SessionPolicy(engine, bus.counters, "basket-eval", 7200.0)  # ids stored hashed, as by the API
    try:
        with Session(engine) as session:
            for chunk in range(0, len(events), 2000):
                batch = events[chunk : chunk + 2000]
                result = ingest(session, bus.events, batch, screens, _ADMIN, intake, sessions=sessions)
                if result.rejected:
                    raise ValueError(f"events rejected: {result.errors[:3]}")
    finally:
        bus.close()


def _worker_recommender(engine: Any, model_dir: Path) -> MirrorRecommender:
    """What a worker holds after start-up: the compatibility table, the published models, the catalog."""
    with Session(engine) as session:
        table = compat.current(session).value
        items = load_items(session)
    version = current_version(model_dir, MIRROR)
    models = load_mirror_models(model_dir / MIRROR / version) if version else None
    rec = MirrorRecommender(compatibility=table)
    if models is not None:
        rec.set_models(models.als, models.taste, models.compatibility)
    rec.load_catalog(items)
    return rec


def _score(rec: MirrorRecommender, train: list[list[str]], test: list[list[str]]) -> dict[str, dict[str, float]]:
    part = rec.registry.get(STORE)
    assert part is not None
    category = {it.sku: it.category for it in part.items}
    sold = Counter(sku for basket in train for sku in basket if sku in category)
    ranked = [sku for sku, _ in sold.most_common()]
    hits = Hits()
    for basket in test:
        first, others = basket[0], set(basket[1:])
        if first not in category:
            continue
        hits.n += 1
        answer = rec.recommend(STORE, first, (), None, K)
        similar, complementary = [r.sku for r in answer.similar], [r.sku for r in answer.complementary]
        hits.add("similar", similar, others)
        hits.add("complementary", complementary, others)
        hits.add("both", similar + complementary, others)
        hits.add("global", [s for s in ranked if s != first][: 2 * K], others)
        wanted = {category[s] for s in others if s in category}
        hits.add("category", [s for s in ranked if s != first and category[s] in wanted][: 2 * K], others)
    return {
        "global popularity (20 items)": {"both": hits.rate("global")},
        "category popularity, oracle categories (20 items)": {"both": hits.rate("category")},
        "mirror": {name: hits.rate(name) for name in ("similar", "complementary", "both")},
    }


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        f"| policy | similar HR@10 | complementary HR@10 | both (20 shown) |  (n = {result['n_test']} baskets)",
        "|---|---:|---:|---:|",
    ]
    for name, row in result["rows"].items():
        cells = [f"{row[c]:.3f}" if c in row else "—" for c in ("similar", "complementary", "both")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="vitrine eval mirror --dataset", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True, help="folder with articles.csv, transactions-dev.csv")
    parser.add_argument("--seed", type=int, default=1, help="seed of the basket split")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="share of baskets held out")
    parser.add_argument(
        "--validation", action="store_true", help="score on an inner split of the training baskets (for tuning)"
    )
    parser.add_argument("--factors", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--purchase-weight", type=float, default=DEFAULT_PURCHASE_WEIGHT, help="as `train mirror`")
    parser.add_argument("--min-support", type=int, default=DEFAULT_MIN_SUPPORT, help="as `train mirror`")
    parser.add_argument(
        "--probe", action="store_true", help="with --validation: hit-rates of alternative lists and ceilings"
    )
    args = parser.parse_args(argv)
    if args.probe and not args.validation:
        parser.error("--probe tunes, so it needs --validation (the held-out baskets are for reporting only)")
    for name in ("articles.csv", "transactions-dev.csv"):
        if not (args.dataset / name).exists():
            parser.error(f"{args.dataset / name} does not exist")
    if not 0.0 < args.test_fraction < 1.0:
        parser.error("--test-fraction must be in (0, 1)")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    options: dict[str, Any] = {
        "test_fraction": args.test_fraction,
        "factors": args.factors,
        "iterations": args.iterations,
        "validation": args.validation,
        "purchase_weight": args.purchase_weight,
        "min_support": args.min_support,
    }
    if args.probe:
        trained = train_on_baskets(args.dataset, args.seed, **options)
        rates = probe_rates(trained.rec, STORE, trained.train, trained.test, K)
        print(f"| list (20 shown), validation baskets (n = {len(trained.test)}) | HR |\n|---|---:|")
        print("\n".join(f"| {name} | {rate:.3f} |" for name, rate in rates.items()))
        return 0
    print(to_markdown(evaluate_baskets(args.dataset, args.seed, **options)))
    return 0
