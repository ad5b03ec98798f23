"""Issue 12: `vitrine eval coupons --dataset` maps real coupon offers onto the service's events, refuses
a file with a missing column or a bad value naming it, and its default ranking does no harm."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys.lab import leadin_offers as offers
from recsys.lab.leadin_offers_eval import evaluate_offers
from screens.cli import app as cli
from screens.schemas.events import EVENT_ADAPTER

DATASET = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "coupons-in-vehicle" / "offers-dev.csv"
HEADER = "destination,passanger,weather,time,coupon,gender,age,class\n"
ROWS = [
    "Home,Alone,Sunny,7AM,Coffee House,Female,21,1\n",
    "Work,Kid(s),Rainy,6PM,Restaurant(<20),Male,36,0\n",
    "Home,Partner,Sunny,10PM,Bar,Female,26,1\n",
    "Home,Friend(s),Snowy,2PM,Carry out & Take away,Male,50plus,0\n",
]


def write(tmp_path: Path, header: str, rows: list[str]) -> Path:
    path = tmp_path / "offers.csv"
    path.write_text(header + "".join(rows))
    return path


def test_every_generated_event_passes_the_api_event_schema(tmp_path: Path) -> None:
    log = offers.offer_log(offers.load_offers(write(tmp_path, HEADER, ROWS)), seed=1)
    kinds = [kind for kind, _, _ in log.events]
    assert kinds.count("coupon_impression") == 4 and kinds.count("coupon_claim") == 2
    assert kinds.count("store_visit") == 3  # the lone acceptor, and the partner pair
    for kind, when, payload in log.events:
        event = {"event_id": str(uuid.uuid4()), "ts": when.isoformat(), "type": kind, **payload}
        if kind == "store_visit":
            event.pop("store_id")  # the service reads the store from the door screen
        EVENT_ADAPTER.validate_python(event)


def test_company_becomes_faces_the_camera_sees(tmp_path: Path) -> None:
    offers_ = offers.load_offers(write(tmp_path, HEADER, ROWS))
    sizes = {o.company: len(offers.faces_of(o)) for o in offers_}
    assert sizes == {"Alone": 1, "Kid(s)": 2, "Partner": 2, "Friend(s)": 3}
    child = offers.faces_of(next(o for o in offers_ if o.company == "Kid(s)"))[1]
    assert child["age"] < 13


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    rows = [r.split(",", 1)[0] + "," + r.split(",", 2)[2] for r in ROWS]
    path = write(tmp_path, HEADER.replace("passanger,", ""), rows)
    with pytest.raises(offers.OfferDatasetError, match="'passanger'"):
        offers.load_offers(path)


def test_a_bad_value_names_its_column_and_line(tmp_path: Path) -> None:
    rows = [*ROWS[:2], ROWS[2].replace("10PM", "11PM"), ROWS[3]]
    with pytest.raises(offers.OfferDatasetError, match="line 4: column 'time' has '11PM'"):
        offers.load_offers(write(tmp_path, HEADER, rows))


def test_cli_refuses_a_dataset_with_a_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.replace(",class", ""), [r.rsplit(",", 1)[0] + "\n" for r in ROWS])
    result = CliRunner().invoke(cli, ["eval", "coupons", "--dataset", str(path)])
    assert result.exit_code == 2 and "'class'" in result.output


@pytest.mark.skipif(not DATASET.exists(), reason="../shared/data/coupons-in-vehicle is not on this machine")
def test_on_real_offers_the_default_ranking_does_no_harm_and_beats_the_venue_rate() -> None:
    rows = dict(evaluate_offers(DATASET, seed=1)["rows"])
    assert rows["default ranking"] >= rows["learned alone"] - 1e-9
    assert rows["default ranking"] > rows["venue acceptance rate (baseline)"] + 0.03
    assert rows["default ranking"] > 0.68
