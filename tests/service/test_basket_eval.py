"""`vitrine eval mirror --dataset`: real baskets through catalog import, logged sessions, training, answers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys.lab.basket_probe import co_purchase_neighbours, probe_rates
from screens.cli import app as cli
from screens.tools.basket_eval import STORE, evaluate_baskets, read_baskets, split_baskets, train_on_baskets

HM = Path(__file__).parents[2] / ".." / "shared" / "data" / "baskets-hm"
COLUMNS = [
    "article_id",
    "product_code",
    "prod_name",
    "product_type_name",
    "product_group_name",
    "graphical_appearance_name",
    "colour_group_name",
    "department_name",
    "index_group_name",
    "section_name",
    "garment_group_name",
]
GROUPS = [("Garment Upper body", "T-shirt"), ("Garment Lower body", "Trousers"), ("Shoes", "Sneakers")]
LOOKS = 60


def write_dataset(folder: Path, repeats: int = 5) -> Path:
    """Sixty looks (a top, trousers, sneakers) whose attributes say nothing about which go together;
    every basket buys one look's top and trousers, sometimes its sneakers."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "articles.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["", *COLUMNS])
        for g, (group, kind) in enumerate(GROUPS):
            for i in range(LOOKS):
                colour = ("Black", "White", "Blue")[(i * (g + 1)) % 3]
                article = f"{g + 1}{i:04d}001"
                row = [article, f"{g + 1}{i:04d}", f"{kind} {i}", kind, group, "Solid", colour, "Basics", "Ladieswear"]
                writer.writerow([g * LOOKS + i, *row, "Womens", "Jersey"])
    with (folder / "transactions-dev.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["t_dat", "customer_id", "article_id", "price", "sales_channel_id"])
        for n in range(LOOKS * repeats):
            look = n % LOOKS
            for g in range(2 + (n % 3 == 0)):
                writer.writerow(["2018-09-20", f"c{n}", f"{g + 1}{(look * (6 * g + 1)) % LOOKS:04d}001", "0.03", "2"])
    return folder


def test_split_is_seeded_and_keeps_only_baskets_with_partners(tmp_path: Path) -> None:
    baskets = read_baskets(write_dataset(tmp_path / "d") / "transactions-dev.csv")
    assert len(baskets) == LOOKS * 5 and all(len(b) >= 2 for b in baskets)
    first, again = split_baskets(baskets, 3, 0.25), split_baskets(baskets, 3, 0.25)
    assert first == again and first != split_baskets(baskets, 4, 0.25)
    train, test = first
    assert len(train) == 225 and len(test) == 75


def test_co_purchases_are_learned_through_the_service_path(tmp_path: Path) -> None:
    result = evaluate_baskets(write_dataset(tmp_path / "d"), seed=1, iterations=8, workdir=tmp_path)
    rows = result["rows"]
    assert result["parts"] == {"content": True, "co_try_on": True, "crowd_taste": False, "learned_compatibility": True}
    assert rows["mirror"]["complementary"] >= 0.8, rows  # the learned looks, invisible in the attributes
    assert rows["mirror"]["both"] > 2 * rows["global popularity (20 items)"]["both"]


def test_cli_prints_the_table(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", repeats=3)
    result = CliRunner().invoke(cli, ["eval", "mirror", "--dataset", str(data), "--seed", "2", "--iterations", "3"])
    assert result.exit_code == 0, result.output
    assert "| mirror |" in result.stdout and "| global popularity (20 items) | — | — |" in result.stdout


def test_cli_names_a_missing_dataset(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "mirror", "--dataset", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "articles.csv does not exist" in result.output


@pytest.mark.skipif(not (HM / "transactions-dev.csv").exists(), reason="../shared/data/baskets-hm is not here")
def test_hm_baskets_beat_both_baselines(tmp_path: Path) -> None:
    rows = evaluate_baskets(HM, seed=1, workdir=tmp_path)["rows"]
    best = max(
        rows["global popularity (20 items)"]["both"], rows["category popularity, oracle categories (20 items)"]["both"]
    )
    assert rows["mirror"]["both"] > best, rows


def test_validation_scores_on_training_baskets_only(tmp_path: Path) -> None:
    """`--validation` tunes on an inner split of the training part (same seed); the held-out part is not read."""
    data = write_dataset(tmp_path / "d", repeats=3)
    baskets = read_baskets(data / "transactions-dev.csv")
    train, _ = split_baskets(baskets, 2, 0.2)
    inner_train, inner_test = split_baskets(train, 2, 0.2)
    result = evaluate_baskets(data, seed=2, iterations=3, workdir=tmp_path, validation=True)
    assert (result["n_train"], result["n_test"]) == (len(inner_train), len(inner_test))


def test_co_purchase_neighbours_rank_by_cosine_of_basket_counts() -> None:
    baskets = [["a", "b"], ["a", "b"], ["a", "c"], ["c", "d"], ["c", "e"], ["c", "f"]]
    # a–b: 2 / sqrt(3·2) = 0.82; a–c: 1 / sqrt(3·4) = 0.29, although c is the more sold item
    assert co_purchase_neighbours(baskets)["a"] == ["b", "c"]
    assert co_purchase_neighbours(baskets)["d"] == ["c"]


def test_probe_scores_alternative_lists_on_validation_baskets(tmp_path: Path) -> None:
    """The looks are bought together, so their co-purchase neighbours find a partner in nearly every basket;
    the shipped row of the probe is the evaluation's own *both*."""
    data = write_dataset(tmp_path / "d")
    trained = train_on_baskets(data, seed=1, iterations=8, workdir=tmp_path, validation=True)
    rates = probe_rates(trained.rec, STORE, trained.train, trained.test)
    assert rates["ceiling: a partner among the co-purchase neighbours (any number)"] >= 0.9, rates
    assert rates["co-purchase neighbours first (up to 1 per list)"] >= 0.9, rates
    both = evaluate_baskets(data, seed=1, iterations=8, workdir=tmp_path, validation=True)["rows"]["mirror"]["both"]
    assert rates["mirror as shipped (10 similar + 10 complementary)"] == pytest.approx(both)


def test_probe_refuses_the_held_out_baskets(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "d", repeats=3)
    result = CliRunner().invoke(cli, ["eval", "mirror", "--dataset", str(data), "--probe"])
    assert result.exit_code == 2 and "needs --validation" in result.output
    result = CliRunner().invoke(
        cli, ["eval", "mirror", "--dataset", str(data), "--probe", "--validation", "--iterations", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "| ceiling: a partner among the co-purchase neighbours (any number) |" in result.stdout
