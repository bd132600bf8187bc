"""The HTML report, opened in headless Chromium (Debian's `chromium`, driven directly): the demo's and a
100,000-user plan's. Behind the `browser` marker; `.ci/run` installs Chromium and runs `pytest -m browser`.
Screenshots of the first screenful land in $TEAMS_LICENSING_SCREENSHOTS (default: the test's temp folder)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.synthetic import write_config, write_snapshot
from teamslicensing.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (.ci/run installs Debian's)"),
]


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TEAMS_LICENSING_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_in_chromium(page: Path, screenshot: Path) -> tuple[str, str]:
    """The DOM Chromium built from `page`, and its log; a screenshot of the first 1280x1000 pixels. Every host
    resolves to nothing, so a request to the network would show as an error in the log."""
    assert CHROMIUM is not None
    common = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1280,1000",
    ]
    shot = subprocess.run(
        [*common, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, text=True, timeout=180, check=False
    )
    net_log = screenshot.with_suffix(".netlog.json")
    dom = subprocess.run(
        [*common, f"--log-net-log={net_log}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    requested = hosts(net_log) - browser_own_hosts(screenshot.parent)
    assert requested == set(), f"the page asked the network for {sorted(requested)}"
    return dom.stdout, shot.stderr + dom.stderr


def hosts(net_log: Path) -> set[str]:
    return set(re.findall(r"https?://([a-z0-9.\-]+)", net_log.read_text(encoding="utf-8", errors="replace")))


def browser_own_hosts(folder: Path) -> set[str]:
    """What Chromium contacts by itself (updates, safe browsing) for a blank page: not the report's doing."""
    assert CHROMIUM is not None
    blank = folder / "blank.netlog.json"
    if not blank.exists():
        command = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", f"--log-net-log={blank}"]
        subprocess.run([*command, "--dump-dom", "about:blank"], capture_output=True, timeout=180, check=False)
    return hosts(blank)


def test_the_network_check_would_see_a_request(tmp_path: Path) -> None:
    """The check above is not blind: a page that loads an image from elsewhere is caught."""
    page = tmp_path / "leaky.html"
    page.write_text("<!DOCTYPE html><html><body><img src='https://images.example.net/a.png'></body></html>")
    with pytest.raises(AssertionError, match=r"images\.example\.net"):
        open_in_chromium(page, tmp_path / "leaky.png")


def check_page(html: Path, dom: str, log: str, screenshot: Path, *, drill_down: bool = True) -> None:
    text = html.read_text(encoding="utf-8")
    assert "<script" not in text.lower(), "no script"
    assert not re.search(r"""(?:src|href)\s*=\s*['"]?(?:https?:)?//""", text), "nothing fetched from anywhere"
    assert "url(" not in text, "no CSS resource either"
    assert screenshot.exists(), "a screenshot was taken"
    assert screenshot.stat().st_size > 10_000, "of something"
    assert "CONSOLE" not in log, "no console message"
    assert "ERR_NAME_NOT_RESOLVED" not in log, "no network request"
    assert "net::ERR" not in log
    assert ("<details" in dom) is drill_down


def test_the_demo_report_opens_with_a_seat_bar_for_every_sku(tmp_path: Path) -> None:
    html = tmp_path / "demo.html"
    config = ROOT / "config" / "licensing.yaml"
    snapshot = ROOT / "config" / "examples" / "contoso-tenant.json"
    main(["plan", str(config), "--snapshot", str(snapshot), "--format", "html", "--output", str(html)])
    dom, log = open_in_chromium(html, shots(tmp_path) / "demo.png")
    check_page(html, dom, log, shots(tmp_path) / "demo.png")
    for sku in ("MCOEV", "MCOPSTN1", "MCOPSTN2", "MCOMEETADV"):
        assert f'id="seat-{sku}"' in dom, f"a seat bar for {sku}"
    assert "Microsoft Teams Phone Standard" in dom, "product names beside part numbers"


def test_the_demo_with_prices_names_the_tenant_and_date_shows_the_cost_and_the_changes_before_the_gaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796601600")  # 2026-12-07
    config = tmp_path / "licensing.yaml"
    prices = (
        "prices:\n  MCOEV: {monthly: 10.00, currency: USD}\n"
        "  Microsoft Teams Domestic Calling Plan: {monthly: 12.00, currency: USD}\n"
        "  MCOMEETADV: {monthly: 4.00, currency: USD}\n"
    )
    config.write_text((ROOT / "config" / "licensing.yaml").read_text(encoding="utf-8") + prices, encoding="utf-8")
    html = tmp_path / "priced.html"
    snapshot = ROOT / "config" / "examples" / "contoso-tenant.json"
    main(["plan", str(config), "--snapshot", str(snapshot), "--format", "html", "--output", str(html)])
    screenshot = shots(tmp_path) / "demo-priced.png"
    dom, log = open_in_chromium(html, screenshot)
    check_page(html, dom, log, screenshot)
    assert "<title>teams-licensing plan — Contoso — 2026-12-07</title>" in dom
    assert "<h2>Cost per month</h2>" in dom
    tiles = re.findall(r"<div class=\"tile cost \w+\"><b>([^<]+)</b>([^<]+)</div>", dom)
    labels = [label for _, label in tiles]
    assert labels == ["added per month", "saved per month", "redundant seats", "unused seats"]
    assert dom.index("added per month") < dom.index("<h2>Rules</h2>"), "the cost in the first tiles"
    assert tiles[0][0] == "USD 62.00", "the seats it adds: 3 MCOEV at 10, 2 MCOPSTN1 at 12, 2 MCOMEETADV at 4"
    assert dom.index("<h2>Changes by rule</h2>") < dom.index("<h2>Gaps</h2>")


def test_a_hundred_thousand_user_report_stays_readable(tmp_path: Path) -> None:
    generated = write_snapshot(tmp_path / "tenant.json", users=100_000, rules=50, seed=2024)
    write_config(tmp_path / "licensing.yaml", 50, generated)
    html = tmp_path / "big.html"
    args = ["plan", str(tmp_path / "licensing.yaml"), "--snapshot", str(generated.path)]
    main([*args, "--format", "html", "--output", str(html)])
    size = html.stat().st_size
    print(f"100,000-user HTML report: {size:,} bytes")
    assert size < 15_000_000, "groups list their first users, not every one"
    dom, log = open_in_chromium(html, shots(tmp_path) / "big.png")
    check_page(html, dom, log, shots(tmp_path) / "big.png")
    seats = re.findall(r"id=\"seat-([^\"]+)\"", dom)
    assert len(seats) == 7, "a seat bar for every managed SKU"
    assert "more (the JSON report lists every one)" in dom


def test_a_plan_apply_would_refuse_says_so_above_the_tiles(tmp_path: Path) -> None:
    generated = write_snapshot(tmp_path / "tenant.json", users=20_000, rules=50, seed=2024)
    write_config(tmp_path / "licensing.yaml", 50, generated)
    html = tmp_path / "refused.html"
    args = ["plan", str(tmp_path / "licensing.yaml"), "--snapshot", str(generated.path)]
    main([*args, "--format", "html", "--output", str(html)])
    dom, log = open_in_chromium(html, shots(tmp_path) / "refused.png")
    check_page(html, dom, log, shots(tmp_path) / "refused.png")
    banner = dom.index('class="refuse" id="apply-would"')
    assert banner < dom.index('class="tiles"'), "what apply would refuse comes before the tiles"
    assert "more than policy.maxRemovals (50)" in dom[banner : dom.index('class="tiles"')]


def test_the_usage_report_has_its_monthly_chart_and_pools(tmp_path: Path) -> None:
    import json
    from datetime import datetime, timedelta, timezone

    from tests.support.fakegraph.calls import generate_calls
    from tests.support.rollout import rollout_document, user_id

    snapshot = tmp_path / "tenant.json"
    snapshot.write_text(json.dumps(rollout_document(10, holding_calling_plan=5)))
    callers = [(user_id(n), f"user{n:06d}@contoso.com", "US") for n in range(5)]
    start = datetime.now(timezone.utc) - timedelta(days=80)
    calls = tmp_path / "calls.jsonl"
    calls.write_text("".join(json.dumps(r) + "\n" for r in generate_calls(callers, start, 75, 50, plan="MCOPSTN2")))
    html = tmp_path / "usage.html"
    main(["usage", "--snapshot", str(snapshot), "--calls", str(calls), "--format", "html", "--output", str(html)])
    dom, log = open_in_chromium(html, shots(tmp_path) / "usage.png")
    check_page(html, dom, log, shots(tmp_path) / "usage.png", drill_down=False)
    assert 'id="monthly-USD"' in dom
    assert "Minute pools" in dom
    assert "recharge amount" in dom
