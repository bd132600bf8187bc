"""`prices:` makes every report say what the plan costs and saves per month, and what redundant and unused seats
cost: seats times price, one entry per currency. Without prices nothing is shown, and JSON has no `cost`."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from teamslicensing.cli import main
from teamslicensing.model.planjson import plan_from_json, plan_to_json
from tests.config.test_config import problems_of, write

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = str(ROOT / "config" / "examples" / "contoso-tenant.json")
PRICES = {"MCOEV": 10.0, "MCOPSTN1": 12.0, "MCOMEETADV": 4.0}
PRICED = """prices:
  phoneSystem: {monthly: 10.00, currency: USD}
  Microsoft Teams Domestic Calling Plan: {monthly: 12.00, currency: USD}
  MCOMEETADV: {monthly: 4, currency: USD}
  MCOPSTN2: {monthly: 22.50, currency: EUR}
"""


@pytest.fixture
def priced(tmp_path: Path) -> Path:
    config = tmp_path / "licensing.yaml"
    config.write_text((ROOT / "config" / "licensing.yaml").read_text(encoding="utf-8") + PRICED, encoding="utf-8")
    return config


def planned(capsys: pytest.CaptureFixture[str], config: Path | str, output_format: str) -> str:
    main(["plan", str(config), "--snapshot", SNAPSHOT, "--format", output_format])
    return capsys.readouterr().out


def test_the_cost_is_seats_times_price_per_currency(priced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(planned(capsys, priced, "json"))
    assert [c["currency"] for c in document["cost"]] == ["EUR", "USD"], "one entry per currency, in order"
    eur, usd = document["cost"]
    seats = {seat["skuPartNumber"]: seat for seat in document["seats"]}
    assert usd["monthlyAdded"] == sum(seats[sku]["toAdd"] * price for sku, price in PRICES.items())
    assert usd["monthlySaved"] == sum(seats[sku]["toRemove"] * price for sku, price in PRICES.items())
    assert usd["redundantMonthly"] == sum(seats[sku]["redundant"] * price for sku, price in PRICES.items())
    by_sku = {entry["skuPartNumber"]: entry for entry in usd["bySku"]}
    assert by_sku["MCOEV"]["monthly"] == 10.0, "priced by its alias (phoneSystem)"
    assert by_sku["MCOPSTN1"]["monthly"] == 12.0, "priced by its product name"
    assert eur["bySku"][0]["skuPartNumber"] == "MCOPSTN2"
    assert eur["monthlyAdded"] == seats["MCOPSTN2"]["toAdd"] * 22.5
    assert usd["monthlyAdded"] > 0
    assert usd["monthlySaved"] > 0, "the demo's plan removes seats too"


def test_without_prices_there_is_no_cost_anywhere(capsys: pytest.CaptureFixture[str]) -> None:
    config = ROOT / "config" / "licensing.yaml"
    assert "cost" not in json.loads(planned(capsys, config, "json"))
    assert "Cost" not in planned(capsys, config, "text")
    assert "Cost per month" not in planned(capsys, config, "html")
    assert "added per month" not in planned(capsys, config, "html")


def test_every_format_shows_the_cost(priced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    usd = next(c for c in json.loads(planned(capsys, priced, "json"))["cost"] if c["currency"] == "USD")
    headline = f"USD: +{usd['monthlyAdded']:,.2f} added, -{usd['monthlySaved']:,.2f} saved per month"
    assert headline in planned(capsys, priced, "text")
    assert f"**{headline}" in planned(capsys, priced, "markdown")
    rows = [row for row in csv.DictReader(io.StringIO(planned(capsys, priced, "csv"))) if row["kind"] == "cost"]
    assert any(row["detail"].startswith(headline) for row in rows)
    assert {row["skuPartNumber"] for row in rows} >= {"", "MCOEV", "MCOPSTN1"}
    page = planned(capsys, priced, "html")
    assert f"<b>USD {usd['monthlyAdded']:,.2f}</b>added per month" in page


def test_a_saved_plan_keeps_its_cost(priced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(planned(capsys, priced, "json"))
    read_back = plan_to_json(plan_from_json(document))
    assert read_back["cost"] == document["cost"]
    assert plan_from_json(document).cost[0].monthly_added == Decimal(str(document["cost"][0]["monthlyAdded"]))


def test_a_price_for_a_license_nobody_sells_says_what_was_meant(tmp_path: Path) -> None:
    text = (
        "version: 1\nrules: []\nprices:\n  MCOEVV: {monthly: 8, currency: USD}\n  MCOEV: {monthly: 8, currency: usd}\n"
    )
    problems = {p.line: p.message for p in problems_of(write(tmp_path, text))}
    assert "unknown license 'MCOEVV'" in problems[4]
    assert "did you mean 'MCOEV'?" in problems[4]
    assert "prices.MCOEV.currency" in problems[5]
