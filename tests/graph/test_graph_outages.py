"""Apply through Graph's bad days, against the stateful fake: a token revoked before its expiry (renewed once, with
the claims of a challenge when Graph sent one; a given token said to be unrenewable), and a storm of 429 and 503
answers, per `$batch` item too, that one run rides out, writing nothing twice and recording everything."""

from __future__ import annotations

import functools
import json
import re
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import httpx
import pytest
import respx

from teamslicensing.cli import main
from teamslicensing.graph import Graph
from tests.support.fakegraph import FakeGraph, Storm
from tests.support.fakegraph.outages import REVOCATION_CLAIMS
from tests.support.faults import BASE, audit_records, fake_for
from tests.support.rollout import MCOPSTN1, holders, rollout_document

WRITE_URL = re.compile(r"^/users/([^/?]+)(/assignLicense)?$")


class Credential:
    """An azure-identity credential as the tool uses it, caching as azure-identity does (1.27): the token an instance
    fetched is handed back until it nears expiry, unless `claims` are asked for."""

    fetched: ClassVar[list[str | None]] = []  # the claims of every token fetched, across instances

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.cached: Any = None

    async def get_token(self, scope: str, *, claims: str | None = None) -> Any:
        if self.cached is not None and claims is None and self.cached.expires_on - 300 > time.time():
            return self.cached
        Credential.fetched.append(claims)
        self.cached = SimpleNamespace(token=f"token-{len(Credential.fetched)}", expires_on=time.time() + 3600)
        return self.cached

    async def close(self) -> None:
        return None


@pytest.fixture
def signed_in(monkeypatch: pytest.MonkeyPatch) -> type[Credential]:
    """No given token: the tool signs in through the credential chain (here `Credential`)."""
    import azure.identity.aio

    Credential.fetched = []
    monkeypatch.delenv("TEAMS_LICENSING_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("TEAMS_LICENSING_GRAPH_URL", raising=False)
    monkeypatch.setattr(azure.identity.aio, "DefaultAzureCredential", Credential)
    monkeypatch.setattr(azure.identity.aio, "ManagedIdentityCredential", Credential)
    return Credential


def apply(config: Path, log: Path) -> tuple[int, str]:
    status = main(["apply", str(config), "--graph-url", BASE, "--yes", "--audit-log", str(log)])
    return status, log.read_text(encoding="utf-8")


def summary(err: str) -> str:
    return next((line for line in err.splitlines() if line.startswith("Apply: ")), err)


@pytest.mark.parametrize(
    ("revoked", "challenge", "in_items"),
    [(False, False, False), (True, False, False), (True, True, False), (True, False, True), (True, True, True)],
)
def test_a_token_revoked_midway_is_replaced_once_and_the_run_completes(
    revoked: bool,
    challenge: bool,
    in_items: bool,
    signed_in: type[Credential],
    router: respx.MockRouter,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The 40th request meets a revoked token: the whole $batch refused, or each item in it; with a claims
    challenge, the claims go to the credential. Reading and writing sign in once each; the revocation costs one
    fetch more, however many batches in flight met it."""
    fake = fake_for(rollout_document(1210), router)
    if revoked:
        fake.revoke_token(40, challenge=challenge, in_items=in_items)
    status, _ = apply(config, tmp_path / "a.jsonl")
    err = capsys.readouterr().err
    assert status == 0, err
    assert "Apply: 1210 applied, 0 failed, 0 not attempted" in summary(err)
    assert holders(fake.document()) == {f"00000000-0000-4000-8000-{n:012d}" for n in range(1210)}
    assert (fake.token_refusals > 0) == revoked
    renewal = [REVOCATION_CLAIMS if challenge else None] if revoked else []
    assert signed_in.fetched == [None, None, *renewal]
    log = audit_records(tmp_path / "a.jsonl")
    refused = [r for r in log if r["type"] == "result" and r["status"] == 401]
    assert len(refused) == (fake.token_refusals if in_items else 0), "items refused for the token are recorded"
    assert log[-1]["type"] == "end"
    assert log[-1]["applied"] == 1210


def test_a_token_refused_again_after_a_fresh_one_stops_the_run(
    signed_in: type[Credential],
    router: respx.MockRouter,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_for(rollout_document(200), router)
    original = fake.handle
    batches = 0

    def refusing_from_the_third_batch(request: Any) -> Any:
        nonlocal batches
        if request.url.path.endswith("/$batch") and b'"POST"' in request.content:
            batches += 1
            if batches >= 3:  # whatever the token: the app lost its access
                body = {"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure."}}
                return httpx.Response(401, json=body)
        return original(request)

    fake.handle = refusing_from_the_third_batch  # type: ignore[method-assign]
    status, _ = apply(config, tmp_path / "a.jsonl")
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Graph refused" in summary(err)
    assert "refused again with a token fetched just now" in err
    assert len(signed_in.fetched) == 3, "reading, writing, and one fresh token for the refusal (not one a batch)"
    assert audit_records(tmp_path / "a.jsonl")[-1]["type"] == "end"


@pytest.mark.usefixtures("graph_token")
@pytest.mark.parametrize("in_items", [False, True])
def test_a_given_token_refused_is_said_to_be_unrenewable(
    in_items: bool, router: respx.MockRouter, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_for(rollout_document(200), router)
    fake.revoke_token(9, in_items=in_items)  # the third write batch
    status, _ = apply(config, tmp_path / "a.jsonl")
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Graph refused" in summary(err)
    assert "not attempted" in summary(err)
    assert "a given access token cannot be refreshed here: pass a fresh one in TEAMS_LICENSING_ACCESS_TOKEN" in err


@pytest.mark.usefixtures("graph_token")
def test_a_storm_of_429s_and_503s_ends_with_every_user_applied_in_one_run(
    router: respx.MockRouter,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """30% of answers 429 and 5% 503, whole requests and $batch items alike; half the 503s to writes were carried
    out all the same. One run applies every user; a write Graph carried out is never sent again; each write has
    its intent on disk before it leaves, and again before it goes again after a read-back; every attempt Graph
    received has its result record."""
    # scaled down in time like the fake's Retry-After; unpaced, since the pacer takes 429s that come whatever the
    # pace for a quota and slows down (88 s instead of 2 s here): the pace is not what this test is about
    monkeypatch.setattr(
        "teamslicensing.app.source.Graph", functools.partial(Graph, backoff_base=0.01, pace_writes=False)
    )
    users = rollout_document(600)
    fake = fake_for(users, router)
    fake.start_storm(Storm(throttled=0.30, unavailable=0.05, applied=0.5, retry_after=0.01, seed=23))
    log_path = tmp_path / "a.jsonl"
    early = watch_intents(fake, log_path)
    started = time.monotonic()
    status, text = apply(config, log_path)
    took = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 0, err
    assert "Apply: 600 applied, 0 failed, 0 not attempted" in summary(err)
    assert holders(fake.document()) == {u["id"] for u in users["users"]}
    storm = fake.storm_answers
    assert storm["throttled"] > 300, storm
    assert storm["unavailable"] > 10, storm
    assert storm["applied"] > 10, "503s to writes Graph carried out all the same"
    assert early == [], f"sent before an intent for it was on disk: {early[:3]}"
    log = [json.loads(line) for line in text.splitlines()]
    verified = Counter(r["state"] for r in log if r["type"] == "verified")
    assert verified["done"] > 0, "writes answered 503 yet carried out were found done"
    assert verified["notDone"] > 0, "and those not carried out were found not done, then sent again"
    applied_then_sent: list[str] = []
    attempts: Counter[str] = Counter()
    done: set[str] = set()
    for write in fake.writes:
        if write["url"] in done:
            applied_then_sent.append(write["url"])
        attempts[write["url"]] += 1
        if write["applied"]:
            done.add(write["url"])
    assert applied_then_sent == [], "a write Graph carried out was sent again"
    results = Counter(r["request"]["url"] for r in log if r["type"] == "result")
    assert all(results[url] >= n for url, n in attempts.items()), "every attempt Graph received is recorded"
    assert log[-1]["type"] == "end"
    assert (log[-1]["applied"], log[-1]["unknown"], log[-1]["failed"]) == (600, 0, 0)
    print(f"storm: {sum(attempts.values())} write attempts for 600 writes, {dict(storm)}, {took:.1f} s")


def watch_intents(fake: FakeGraph, log: Path) -> list[str]:
    """Each write Graph receives is checked against the audit log on disk at that moment: an intent for it, and a
    newer intent than any read-back that found it not done. The writes that were not so, as they are found."""
    early: list[str] = []
    original = fake.handle

    def handle(request: Any) -> Any:
        if request.url.path.endswith("/$batch") and b'"GET"' not in request.content:
            intents: Counter[tuple[str, str]] = Counter()
            not_done: Counter[tuple[str, str]] = Counter()
            for line in log.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                key = (str(record.get("userId")), str(record.get("kind")))
                if record["type"] == "intent":
                    intents[key] += 1
                elif record["type"] == "verified" and record["state"] == "notDone":
                    not_done[key] += 1
            for item in json.loads(request.content)["requests"]:
                match = WRITE_URL.match(item["url"])
                assert match, item["url"]
                key = (match.group(1), "licenses" if match.group(2) else "usageLocation")
                if intents[key] <= not_done[key]:
                    early.append(item["url"])
        return original(request)

    fake.handle = handle  # type: ignore[method-assign]
    return early


@pytest.mark.usefixtures("graph_token")
def test_a_write_graph_keeps_failing_is_sent_within_the_retry_bounds_then_unknown(
    router: respx.MockRouter, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One user's write is answered 503 every time and never carried out: it is read back and sent again until its
    8th attempt (the bounds of any transient failure); with the bounds spent and no answer to rely on it is
    unresolved, so unknown (Graph may still carry out the last attempt); everyone else is applied."""
    monkeypatch.setattr("teamslicensing.app.source.Graph", functools.partial(Graph, backoff_base=0.001))
    fake = fake_for(rollout_document(60), router)
    stuck = "/users/00000000-0000-4000-8000-000000000007/assignLicense"
    operation = fake._operation

    def failing(method: str, path: str, raw_query: str, body: Any, bad_body: bool, *, in_batch: bool) -> Any:
        if path == stuck:
            fake.writes.append({"method": method, "url": path, "body": body, "status": 503, "applied": False})
            return fake.storm_unavailable()
        return operation(method, path, raw_query, body, bad_body, in_batch=in_batch)

    monkeypatch.setattr(fake, "_operation", failing)
    status, text = apply(config, tmp_path / "a.jsonl")
    assert status == 1
    log = [json.loads(line) for line in text.splitlines()]
    assert sum(1 for w in fake.writes if w["url"] == stuck) == 8
    assert sum(1 for r in log if r["type"] == "intent" and r["request"]["url"] == stuck) == 8
    assert sum(1 for r in log if r["type"] == "verified" and r["state"] == "notDone") == 8
    assert (log[-1]["applied"], log[-1]["failed"], log[-1]["unknown"]) == (59, 0, 1)


def storm_statuses(seed: int) -> tuple[list[int], list[int], int]:
    """60 write batches of 20 against a fresh stormy fake: the outer statuses, the item statuses, users changed."""
    users = rollout_document(1200)
    fake = FakeGraph(users, base_url=BASE, fractional_retry_after=True)
    fake.start_storm(Storm(seed=seed))
    outer, items = [], []
    body = {"addLicenses": [{"skuId": MCOPSTN1, "disabledPlans": []}], "removeLicenses": []}
    with httpx.Client(transport=httpx.MockTransport(fake.handle), base_url=BASE) as client:
        for start in range(0, 1200, 20):
            requests = [
                {"id": str(n), "method": "POST", "url": f"/users/{u['id']}/assignLicense", "body": body}
                for n, u in enumerate(users["users"][start : start + 20])
            ]
            for request in requests:
                request["headers"] = {"Content-Type": "application/json"}
            answer = client.post("/$batch", json={"requests": requests}, headers={"Authorization": "Bearer t"})
            outer.append(answer.status_code)
            if answer.status_code == 200:
                items.extend(sorted((int(i["id"]), i["status"]) for i in answer.json()["responses"]))
    return outer, [status for _, status in items], len(holders(fake.document(), MCOPSTN1))


def test_the_fakes_storm_is_the_share_asked_for_per_request_and_item_and_the_same_for_a_seed() -> None:
    outer, items, changed = storm_statuses(seed=5)
    assert (outer, items, changed) == storm_statuses(seed=5), "the same seed, the same storm"
    assert storm_statuses(seed=6)[1] != items
    assert Counter(outer)[429] > 0
    assert Counter(outer)[503] > 0
    shares = Counter(items)
    assert 0.25 < shares[429] / len(items) < 0.35
    assert 0.03 < shares[503] / len(items) < 0.07
    assert changed > shares[200], "some writes answered 503 (as a whole or alone) were carried out all the same"


@pytest.mark.usefixtures("graph_token")
def test_a_batch_refused_as_a_whole_after_some_of_it_was_done_reports_what_was_done(
    router: respx.MockRouter, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first write batch: 15 items applied and 5 throttled; the 5 sent again meet a refused token. The 15 are
    reported applied, as Graph holds them (not failed with the round that was refused), the 5 failed (the given
    token cannot be refreshed), and the run stops (batches already in flight finish)."""
    fake = fake_for(rollout_document(200), router)
    original = fake.handle
    write_batches = 0

    def refusing_the_throttled(request: Any) -> Any:
        nonlocal write_batches
        if request.url.path.endswith("/$batch"):
            write_batches += 1
            if write_batches == 1:
                fake.throttle_next(5, retry_after=0.01)
            if len(json.loads(request.content)["requests"]) == 5:
                body = {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}}
                return httpx.Response(401, json=body)
        return original(request)

    fake.handle = refusing_the_throttled  # type: ignore[method-assign]
    status, text = apply(config, tmp_path / "a.jsonl")
    err = capsys.readouterr().err
    assert status == 1, err
    applied = len(holders(fake.document(), MCOPSTN1))
    assert summary(err).startswith(f"Apply: {applied} applied, 5 failed, {195 - applied} not attempted"), summary(err)
    assert "stopped: Graph refused" in summary(err)
    log = [json.loads(line) for line in text.splitlines()]
    refused = [r for r in log if r["type"] == "result" and r["status"] == 401]
    assert len(refused) == 5, "the refused round is recorded"
    assert all("cannot be refreshed" in r["error"] for r in refused)
