"""`prices:` at its edges: a SKU priced twice, a suspended subscription, a saved plan, a price out of range."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from teamslicensing.cli import main
from teamslicensing.model.cost import SkuPrice
from teamslicensing.model.plan import SeatLine
from teamslicensing.model.tenant import TenantSku
from teamslicensing.plan.cost import plan_cost

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "examples" / "contoso-tenant.json"
MCOEV_ID = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"


def priced(tmp_path: Path, prices: str) -> Path:
    config = tmp_path / "licensing.yaml"
    config.write_text((ROOT / "config" / "licensing.yaml").read_text(encoding="utf-8") + prices, encoding="utf-8")
    return config


@pytest.mark.parametrize(
    "prices",
    [
        "prices:\n  phoneSystem: {monthly: 10, currency: USD}\n  MCOEV: {monthly: 8, currency: USD}\n",
        "prices:\n  MCOEV: {monthly: 10, currency: USD}\n  phoneSystem: {monthly: 9, currency: EUR}\n",
        f"prices:\n  MCOEV: {{monthly: 10, currency: USD}}\n  {MCOEV_ID}: {{monthly: 99, currency: USD}}\n",
    ],
    ids=["alias-and-part-number", "two-currencies", "part-number-and-skuId"],
)
def test_a_sku_priced_twice_is_a_problem_not_a_silent_pick(
    tmp_path: Path, prices: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(priced(tmp_path, prices))])
    err = capsys.readouterr().err
    assert code == 1, "two prices for MCOEV: the first silently wins, the other is dropped from every report"
    assert "MCOEV" in err


def test_a_suspended_subscription_saves_and_wastes_nothing() -> None:
    suspended = TenantSku("c", "MCOPSTNC", "User", "Suspended", 0, 4, ())
    seat = SeatLine("c", "MCOPSTNC", 0, 4, 0, 2, -2, 0, redundant=1)
    (cost,) = plan_cost([seat], [suspended], [SkuPrice("MCOPSTNC", ("c",), Decimal("5"), "USD")])
    assert cost.unused_monthly == 0, "not billed: no unused cost (as the code says)"
    assert cost.monthly_saved == 0, "freeing seats of a subscription that is not billed saves no money"
    assert cost.redundant_monthly == 0, "a redundant seat of a subscription that is not billed costs nothing"


def test_apply_of_a_saved_plan_keeps_the_plans_cost(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = priced(tmp_path, "prices:\n  phoneSystem: {monthly: 10, currency: USD}\n")
    tenant, saved = tmp_path / "tenant.json", tmp_path / "saved.plan"
    tenant.write_bytes(DEMO.read_bytes())
    main(["plan", str(config), "--snapshot", str(tenant), "--format", "json", "--out", str(saved)])
    planned = json.loads(capsys.readouterr().out)
    assert planned["cost"], "the plan has a cost"
    report = tmp_path / "apply.json"
    args = ["apply", str(saved), "--snapshot", str(tenant), "--yes", "--audit-log", str(tmp_path / "audit.jsonl")]
    main([*args, "--format", "json", "--output", str(report)])
    applied = json.loads(report.read_text(encoding="utf-8"))
    assert applied.get("cost") == planned["cost"], "`apply PLANFILE` reports no cost: the saved plan dropped it"


def test_a_price_too_large_is_a_configuration_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = priced(tmp_path, "prices:\n  MCOEV: {monthly: 1.0e+30, currency: USD}\n")
    code = main(["plan", str(config), "--snapshot", str(DEMO), "--format", "json"])
    err = capsys.readouterr().err
    assert "internal error" not in err, err
    assert code == 1
    assert "prices.MCOEV.monthly" in err
