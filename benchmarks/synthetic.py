"""A deterministic synthetic tenant for the benchmark: a Graph snapshot of N users and a configuration of R rules.

The snapshot looks like an export of a large enterprise tenant: Graph user objects with the usual directory
attributes and all fifteen on-premises extension attributes (mostly null), suites and add-ons held directly or
through group-based licensing (a few in error), ~20 subscribedSkus with their real service plans (from the
package's catalogue), and ~60 groups with transitive member lists, some of them tenant-wide. At 100,000 users it is
about 100 MB of compact JSON.

Voice licenses follow the same groups and attributes the rules select on, with drift (people who moved, licenses
left behind, plans assigned by hand), so a plan has a realistic few thousand changes and gaps rather than nothing
or everything. Everything derives from one `random.Random(seed)`: the same arguments give the same bytes.
"""

from __future__ import annotations

import json
import random
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teamslicensing.reference.catalog import CatalogSku, load_catalog

COMPACT = (",", ":")
DOMAIN = "contoso.com"

# part number -> (weight of seats beyond consumption, capabilityStatus)
SKUS: dict[str, tuple[float, str]] = {
    "SPE_E3": (1.05, "Enabled"),
    "SPE_E5": (1.05, "Enabled"),
    "ENTERPRISEPACK": (1.10, "Enabled"),
    "ENTERPRISEPREMIUM": (1.10, "Enabled"),
    "SPE_F1": (1.05, "Enabled"),
    "DESKLESSPACK": (1.00, "Warning"),
    "EMS": (1.10, "Enabled"),
    "EMSPREMIUM": (1.10, "Enabled"),
    "AAD_PREMIUM": (1.10, "Enabled"),
    "POWER_BI_PRO": (1.20, "Enabled"),
    "FLOW_FREE": (10.0, "Enabled"),
    "VISIOCLIENT": (1.10, "Enabled"),
    "PROJECTPREMIUM": (1.00, "Suspended"),
    "MCOEV": (1.10, "Enabled"),
    "MCOPSTN1": (1.08, "Enabled"),
    "MCOPSTN2": (1.00, "Enabled"),  # tight on purpose: the international rules run short of seats
    "MCOMEETADV": (1.30, "Enabled"),
    "MCOPSTNC": (1.50, "Enabled"),
    "PHONESYSTEM_VIRTUALUSER": (2.00, "Enabled"),
    "Microsoft_Teams_Rooms_Pro": (1.20, "Enabled"),
}


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    cities: tuple[str, ...]
    company: str
    weight: int


COUNTRIES = (
    Country("US", "United States", ("New York", "Seattle", "Chicago", "Austin", "Atlanta"), "Contoso Inc.", 40),
    Country("GB", "United Kingdom", ("London", "Manchester", "Edinburgh"), "Contoso UK Ltd", 12),
    Country("DE", "Germany", ("München", "Berlin", "Düsseldorf"), "Contoso Deutschland GmbH", 10),
    Country("IN", "India", ("Bengaluru", "Hyderabad", "Pune"), "Contoso India Pvt Ltd", 10),
    Country("FR", "France", ("Paris", "Lyon"), "Contoso France SAS", 6),
    Country("CA", "Canada", ("Toronto", "Montréal", "Vancouver"), "Contoso Canada Inc.", 6),
    Country("AU", "Australia", ("Sydney", "Melbourne"), "Contoso Australia Pty Ltd", 5),
    Country("NL", "Netherlands", ("Amsterdam", "Rotterdam"), "Contoso Nederland B.V.", 4),
    Country("JP", "Japan", ("東京", "大阪"), "Contoso Japan K.K.", 4),
    Country("BR", "Brazil", ("São Paulo", "Rio de Janeiro"), "Contoso Brasil Ltda", 3),
)
DEPARTMENTS = (
    ("Sales", 14),
    ("Customer Support", 12),
    ("Engineering", 18),
    ("Marketing", 6),
    ("Finance", 5),
    ("Human Resources", 4),
    ("Legal", 2),
    ("Operations", 9),
    ("IT", 6),
    ("Research", 5),
    ("Procurement", 3),
    ("Facilities", 3),
    ("Customer Success", 6),
    ("Product", 5),
    ("Executive", 1),
)
JOB_TITLES = (
    ("Associate", 16),
    ("Specialist", 18),
    ("Senior Specialist", 10),
    ("Analyst", 10),
    ("Engineer", 12),
    ("Representative", 8),
    ("Consultant", 6),
    ("Coordinator", 5),
    ("Team Lead", 5),
    ("Manager", 7),
    ("Senior Manager", 2),
    ("Director", 2),
    ("Vice President", 0.6),
)


def _names(text: str) -> tuple[str, ...]:
    return tuple(word.replace("_", " ") for word in text.split())


EMPLOYEE_TYPES = (("Employee", 85), ("Contractor", 10), ("Intern", 3), (None, 2))
FIRST = _names(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Priya Arjun Ananya Rahul Sofia Lukas Emma Leon Hannah Noah Chloé Hugo Léa "
    "Yuki Haruto Sakura Ren Olivia Liam Ava Lucas Isabela Gabriel Mariana Jack Amelia Oliver Isla Fatima Omar "
    "Zanele Wei Mei Sven Ingrid Mateo Valentina Siobhán Ciarán Zoë"
)
LAST = _names(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sharma Patel Iyer Reddy Müller "
    "Schmidt Schneider Fischer Weber Dubois Lefèvre Moreau Tanaka Suzuki Takahashi Watanabe Silva Santos Oliveira "
    "Costa O'Brien Murphy Kelly Nguyen Chen Wang Li Zhang Jansen de_Vries van_Dijk Novak Kowalski Ivanova"
)
# SKUs (part numbers) that carry only voice; held alone they are the "voice add-ons"
PHONE, DOMESTIC, INTERNATIONAL, AUDIO, CREDITS = "MCOEV", "MCOPSTN1", "MCOPSTN2", "MCOMEETADV", "MCOPSTNC"
ERRORS = ("CountViolation", "MutuallyExclusiveViolation", "DependencyViolation", "ProhibitedInUsageLocationViolation")


@dataclass(frozen=True)
class VoiceTeam:
    """A team whose members hold Teams Phone: its group, who is in it, and how they reach the PSTN."""

    department: str
    country: str
    routing: str  # callingPlan, directRouting, operatorConnect
    calling_sku: str | None  # MCOPSTN1 / MCOPSTN2 for calling-plan teams

    @property
    def group(self) -> str:
        return f"Voice - {self.department} {self.country}"


VOICE_TEAMS = (
    VoiceTeam("Sales", "US", "callingPlan", DOMESTIC),
    VoiceTeam("Sales", "GB", "callingPlan", DOMESTIC),
    VoiceTeam("Sales", "DE", "callingPlan", INTERNATIONAL),
    VoiceTeam("Sales", "FR", "callingPlan", DOMESTIC),
    VoiceTeam("Sales", "CA", "callingPlan", DOMESTIC),
    VoiceTeam("Sales", "AU", "callingPlan", DOMESTIC),
    VoiceTeam("Sales", "NL", "operatorConnect", None),
    VoiceTeam("Sales", "JP", "callingPlan", DOMESTIC),
    VoiceTeam("Customer Support", "US", "callingPlan", DOMESTIC),
    VoiceTeam("Customer Support", "GB", "directRouting", None),
    VoiceTeam("Customer Support", "IN", "directRouting", None),
    VoiceTeam("Customer Support", "DE", "directRouting", None),
    VoiceTeam("Customer Support", "BR", "operatorConnect", None),
    VoiceTeam("Customer Success", "US", "callingPlan", INTERNATIONAL),
    VoiceTeam("Customer Success", "GB", "callingPlan", INTERNATIONAL),
    VoiceTeam("Executive", "US", "callingPlan", INTERNATIONAL),
    VoiceTeam("Facilities", "US", "callingPlan", DOMESTIC),
    VoiceTeam("Legal", "US", "callingPlan", DOMESTIC),
)
LICENSE_GROUPS = {  # group display name -> SKU part number it assigns (group-based licensing)
    "LIC - Microsoft 365 E3": "SPE_E3",
    "LIC - Microsoft 365 E5": "SPE_E5",
    "LIC - Office 365 E3": "ENTERPRISEPACK",
    "LIC - Microsoft 365 F1": "SPE_F1",
    "LIC - Teams Phone": PHONE,
    "LIC - Calling Plan Domestic": DOMESTIC,
    "LIC - Audio Conferencing": AUDIO,
    "LIC - Power BI Pro": "POWER_BI_PRO",
}
DIAL_IN = "DIAL-IN"  # extensionAttribute3 of people who host dial-in meetings
ORGANIZER_TITLES = ("Manager", "Senior Manager", "Director", "Vice President")


@dataclass
class Generated:
    """What the generator learnt that the configuration needs (names to select, who exists)."""

    users: int = 0
    sample_upns: list[str] = field(default_factory=list)
    group_names: list[str] = field(default_factory=list)
    path: Path | None = None
    size: int = 0


class _Tenant:
    """Builds users one at a time, remembering only group memberships and seat counts."""

    def __init__(self, rng: random.Random, rules: int) -> None:
        self.rng = rng
        self.dial_in = set(dial_in_combinations(rules))
        catalog = load_catalog()
        self.skus: dict[str, CatalogSku] = {pn: catalog.by_part_number(pn)[0] for pn in SKUS}
        self.sku_id = {pn: sku.sku_id for pn, sku in self.skus.items()}
        self.plan_id = {pn: {p.name: p.id for p in sku.service_plans} for pn, sku in self.skus.items()}
        self.group_ids: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        for name in self._group_names():
            self.group_ids[name] = self._uuid()
            self.members[name] = []
        self.consumed: Counter[str] = Counter()
        self.upn_counts: Counter[str] = Counter()
        self.sample_upns: list[str] = []

    @staticmethod
    def _group_names() -> list[str]:
        names = ["All Staff", "Contractors", "Interns", "Managers", "Executives"]
        names += list(LICENSE_GROUPS)
        names += [f"Dept - {department}" for department, _ in DEPARTMENTS]
        names += [f"Country - {country.code}" for country in COUNTRIES]
        names += [team.group for team in VOICE_TEAMS]
        names += ["Auto Attendants", "Meeting Rooms", "Voice Pilot", "Break Glass Accounts"]
        return names

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _pick(self, weighted: tuple[tuple[Any, float], ...]) -> Any:
        values, weights = zip(*weighted, strict=True)
        return self.rng.choices(values, weights)[0]

    def user(self, index: int) -> dict[str, Any]:
        rng = self.rng
        kind = "person"
        roll = rng.random()
        if roll < 0.003:
            kind = "resource"
        elif roll < 0.005:
            kind = "room"
        country: Country = rng.choices(COUNTRIES, [c.weight for c in COUNTRIES])[0]
        department: str = self._pick(DEPARTMENTS)
        title: str = self._pick(JOB_TITLES)
        employee_type: str | None = self._pick(EMPLOYEE_TYPES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        user_id = self._uuid()
        if kind == "person":
            base = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
            display = f"{first} {last}"
        elif kind == "resource":
            base = f"aa-{department.lower().replace(' ', '-')}-{country.code.lower()}"
            display = f"Auto attendant {department} {country.code}"
            title, employee_type = "", None
        else:
            base = f"room-{country.code.lower()}-{index}"
            display = f"Room {country.cities[0]} {index % 400}"
            title, employee_type = "", None
        self.upn_counts[base] += 1
        count = self.upn_counts[base]
        upn = f"{base}{count if count > 1 else ''}@{DOMAIN}"
        if index % 97 == 0 and kind == "person" and len(self.sample_upns) < 200:
            self.sample_upns.append(upn)
        enabled = kind != "resource" and rng.random() > 0.03  # resource accounts are disabled, as Teams makes them
        usage = None if rng.random() < 0.015 else country.code
        manager_like = title in ORGANIZER_TITLES
        extension: dict[str, str | None] = {f"extensionAttribute{n}": None for n in range(1, 16)}
        if kind == "person":
            if rng.random() < 0.7:
                extension["extensionAttribute1"] = f"CC{rng.randrange(1000, 9999)}"
            if rng.random() < 0.5:
                extension["extensionAttribute5"] = str(100000 + index)
            if rng.random() < 0.3:
                extension["extensionAttribute10"] = rng.choice(("Hybrid", "Remote", "Onsite"))
            if rng.random() < 0.04:
                extension["extensionAttribute3"] = DIAL_IN
            if rng.random() < 0.02:
                extension["extensionAttribute2"] = rng.choice(("VOICE-INTL", "VOICE-INTL", "VOICE-PAYG"))
        obj: dict[str, Any] = {
            "id": user_id,
            "userPrincipalName": upn,
            "displayName": display,
            "accountEnabled": enabled,
            "usageLocation": usage,
            "department": department if kind == "person" else None,
            "jobTitle": title or None,
            "country": country.name,
            "city": rng.choice(country.cities),
            "companyName": country.company,
            "officeLocation": f"{country.code}-{rng.choice(country.cities)[:3].upper()}-B{rng.randrange(1, 40)}",
            "employeeType": employee_type,
            "onPremisesExtensionAttributes": extension,
        }
        groups = self._memberships(kind, department, country, title, employee_type, manager_like, enabled)
        states = self._licenses(
            kind, department, country.name, groups, extension, manager_like
        )  # adds the license groups it uses
        for name in dict.fromkeys(groups):
            self.members[name].append(user_id)
        obj["assignedLicenses"] = _assigned(states)
        obj["licenseAssignmentStates"] = states
        for state in states:
            if state["state"] != "Error":
                self.consumed[state["skuId"]] += 1
        return obj

    def _memberships(
        self,
        kind: str,
        department: str,
        country: Country,
        title: str,
        employee_type: str | None,
        manager_like: bool,
        enabled: bool,
    ) -> list[str]:
        rng = self.rng
        if kind == "resource":
            return ["Auto Attendants"]
        if kind == "room":
            return ["Meeting Rooms"]
        groups = [f"Dept - {department}", f"Country - {country.code}"]
        if enabled:
            groups.append("All Staff")
        if employee_type == "Contractor":
            groups.append("Contractors")
        elif employee_type == "Intern":
            groups.append("Interns")
        if manager_like:
            groups.append("Managers")
        if department == "Executive" or title == "Vice President":
            groups.append("Executives")
        for team in VOICE_TEAMS:
            # members of a team's voice group: most of that department in that country, and a few strays
            same = team.department == department and team.country == country.code
            if (same and rng.random() < 0.92) or (not same and rng.random() < 0.0004):
                groups.append(team.group)
        if rng.random() < 0.002:
            groups.append("Voice Pilot")
        return groups

    def _licenses(
        self,
        kind: str,
        department: str,
        country: str,
        groups: list[str],
        extension: dict[str, str | None],
        manager_like: bool,
    ) -> list[dict[str, Any]]:
        rng = self.rng
        held: list[tuple[str, str | None, list[str]]] = []  # (part number, group name or None, disabled plan names)
        if kind == "resource":
            if rng.random() < 0.9:
                held.append(("PHONESYSTEM_VIRTUALUSER", None, []))
            return self._states(held)
        if kind == "room":
            if rng.random() < 0.8:
                held.append(("Microsoft_Teams_Rooms_Pro", None, ["WHITEBOARD_PLAN3"] if rng.random() < 0.7 else []))
            return self._states(held)
        suite = self._pick(
            (
                ("SPE_E3", 45),
                ("ENTERPRISEPACK", 10),
                ("SPE_E5", 20),
                ("ENTERPRISEPREMIUM", 5),
                ("SPE_F1", 12),
                ("DESKLESSPACK", 3),
                (None, 5),
            )
        )
        if suite is not None:
            disabled = []
            if rng.random() < 0.3:
                disabled = rng.sample(["SWAY", "YAMMER_ENTERPRISE", "KAIZALA_O365_P3", "MYANALYTICS_P2"], 2)
                disabled = [p for p in disabled if p in self.plan_id[suite]]
            if suite in ("SPE_E5", "ENTERPRISEPREMIUM") and rng.random() < 0.04:
                disabled.append(AUDIO)  # E5 without dial-in
            if suite in ("SPE_E5", "ENTERPRISEPREMIUM") and rng.random() < 0.01:
                disabled.append(PHONE)
            group = next((g for g, pn in LICENSE_GROUPS.items() if pn == suite), None)
            by_group = group is not None and rng.random() < 0.6
            if by_group and group is not None:
                groups.append(group)
                held.append((suite, group, disabled))
                if rng.random() < 0.05:  # also assigned directly, as often left behind after a migration
                    held.append((suite, None, disabled))
            else:
                held.append((suite, None, disabled))
            if suite in ("ENTERPRISEPACK", "SPE_E3") and rng.random() < 0.3:
                held.append(("EMS" if suite == "ENTERPRISEPACK" else "AAD_PREMIUM", None, []))
            if suite == "ENTERPRISEPREMIUM" and rng.random() < 0.8:
                held.append(("EMSPREMIUM", None, []))
        for part_number, share in (("POWER_BI_PRO", 0.12), ("FLOW_FREE", 0.1), ("VISIOCLIENT", 0.03)):
            if rng.random() < share:
                group = "LIC - Power BI Pro" if part_number == "POWER_BI_PRO" and rng.random() < 0.5 else None
                if group:
                    groups.append(group)
                held.append((part_number, group, []))
        if rng.random() < 0.02:
            held.append(("PROJECTPREMIUM", None, []))
        teams = [t for t in VOICE_TEAMS if t.group in groups]
        for team in teams[:1]:
            if rng.random() < 0.88:  # the rest are new joiners the plan will license
                by_group = rng.random() < 0.3  # E5 holders get Teams Phone too: the rules assign the SKU
                if by_group:
                    groups.append("LIC - Teams Phone")
                held.append((PHONE, "LIC - Teams Phone" if by_group else None, []))
                if team.calling_sku is not None:
                    calling = team.calling_sku if rng.random() < 0.95 else (DOMESTIC, INTERNATIONAL)[rng.random() < 0.5]
                    by_group = calling == DOMESTIC and rng.random() < 0.2
                    if by_group:
                        groups.append("LIC - Calling Plan Domestic")
                    held.append((calling, "LIC - Calling Plan Domestic" if by_group else None, []))
                    if rng.random() < 0.7:
                        held.append((CREDITS, None, []))
        if not teams:
            roll = rng.random()
            if roll < 0.006:  # left behind after moving out of a voice team: prune material
                held.append((PHONE, None, []))
                if rng.random() < 0.5:
                    held.append((DOMESTIC, None, []))
            elif roll < 0.008:  # a calling plan without Teams Phone, assigned by hand
                held.append((DOMESTIC, None, []))
        dial_in = extension.get("extensionAttribute3") == DIAL_IN and (department, country) in self.dial_in
        if (manager_like and rng.random() < 0.6) or (dial_in and rng.random() < 0.85):
            by_group = rng.random() < 0.4
            if by_group:
                groups.append("LIC - Audio Conferencing")
            held.append((AUDIO, "LIC - Audio Conferencing" if by_group else None, []))
            if rng.random() < 0.5 and not any(pn == CREDITS for pn, _, _ in held):
                held.append((CREDITS, None, []))
        if extension.get("extensionAttribute2") == "VOICE-INTL" and rng.random() < 0.5:
            held.append((INTERNATIONAL, None, []))
        return self._states(held)

    def _states(self, held: list[tuple[str, str | None, list[str]]]) -> list[dict[str, Any]]:
        rng = self.rng
        states = []
        seen: set[tuple[str, str | None]] = set()
        for part_number, group, disabled_names in held:
            if (part_number, group) in seen:
                continue
            seen.add((part_number, group))
            plans = self.plan_id[part_number]
            state, error = "Active", "None"
            if group is not None and rng.random() < 0.004:
                error = rng.choice(ERRORS)
                state = "Error" if error == "CountViolation" else "ActiveWithError"
            states.append(
                {
                    "assignedByGroup": self.group_ids[group] if group else None,
                    "disabledPlans": [plans[name] for name in disabled_names if name in plans],
                    "error": error,
                    "skuId": self.sku_id[part_number],
                    "state": state,
                }
            )
        return states

    def subscribed_skus(self) -> list[dict[str, Any]]:
        result = []
        for part_number, (headroom, status) in SKUS.items():
            sku = self.skus[part_number]
            consumed = self.consumed[sku.sku_id]
            enabled = max(int(consumed * headroom), 25) if status not in ("Suspended", "Deleted") else 0
            result.append(
                {
                    "capabilityStatus": status,
                    "consumedUnits": consumed,
                    "id": f"00000000-0000-4000-8000-000000000000_{sku.sku_id}",
                    "prepaidUnits": {"enabled": enabled, "suspended": 0 if enabled else consumed, "warning": 0},
                    "servicePlans": [
                        {
                            "servicePlanId": plan.id,
                            "servicePlanName": plan.name,
                            "provisioningStatus": "Success",
                            "appliesTo": "User",
                        }
                        for plan in sku.service_plans
                    ],
                    "skuId": sku.sku_id,
                    "skuPartNumber": sku.part_number,
                    "appliesTo": "User",
                }
            )
        return result

    def groups(self) -> Iterator[dict[str, Any]]:
        for name, group_id in self.group_ids.items():
            yield {"id": group_id, "displayName": name, "members": self.members[name]}


def _assigned(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """assignedLicenses as Graph derives it: one entry per SKU that works, plans off only if off everywhere."""
    by_sku: dict[str, set[str]] = {}
    for state in states:
        if state["state"] == "Error":
            continue
        off = set(state["disabledPlans"])
        by_sku[state["skuId"]] = by_sku[state["skuId"]] & off if state["skuId"] in by_sku else off
    return [{"disabledPlans": sorted(off), "skuId": sku} for sku, off in by_sku.items()]


def write_snapshot(path: Path, users: int, rules: int = 50, seed: int = 2024) -> Generated:
    """Write the snapshot to `path` (compact UTF-8 JSON); users are streamed, not held.

    `rules` is the size of the configuration it goes with: users in the department x country pairs its dial-in
    rules cover hold Audio Conferencing already, as they would in a tenant managed this way.
    """
    rng = random.Random(seed)
    tenant = _Tenant(rng, rules)
    part = path.with_suffix(".users.part")
    with open(part, "w", encoding="utf-8") as out:
        for index in range(users):
            if index:
                out.write(",")
            out.write(json.dumps(tenant.user(index), separators=COMPACT, ensure_ascii=False))
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata","exportedAt":"2025-10-01T06:00:00Z",')
        out.write('"subscribedSkus":')
        json.dump(tenant.subscribed_skus(), out, separators=COMPACT, ensure_ascii=False)
        out.write(',"users":[')
        with open(part, encoding="utf-8") as users_part:
            shutil.copyfileobj(users_part, out, 1 << 20)
        out.write('],"groups":[')
        for position, group in enumerate(tenant.groups()):
            if position:
                out.write(",")
            json.dump(group, out, separators=COMPACT, ensure_ascii=False)
        out.write("]}")
    part.unlink()
    return Generated(
        users=users,
        sample_upns=tenant.sample_upns,
        group_names=list(tenant.group_ids),
        path=path,
        size=path.stat().st_size,
    )


# ---- configuration -----------------------------------------------------------------------------------------------

LICENSE_ALIASES = {
    "phoneSystem": PHONE,
    "domesticCalling": DOMESTIC,
    "internationalCalling": INTERNATIONAL,
    "audioConferencing": AUDIO,
    "communicationsCredits": CREDITS,
    "resourceAccount": "PHONESYSTEM_VIRTUALUSER",
    "roomsPro": "Microsoft_Teams_Rooms_Pro",
}
_CALLING_ALIAS = {DOMESTIC: "domesticCalling", INTERNATIONAL: "internationalCalling"}


def _rules(count: int, generated: Generated) -> list[dict[str, Any]]:
    """`count` rules of every kind the schema offers, in a realistic mix; deterministic."""
    rules: list[dict[str, Any]] = []
    upns = generated.sample_upns
    for team in VOICE_TEAMS:  # 18 group rules, one per voice team
        rule: dict[str, Any] = {
            "name": f"voice-{team.department.lower().replace(' ', '-')}-{team.country.lower()}",
            "select": {"groups": [team.group]},
            "exclude": {"groups": ["Contractors"]}
            if team.department == "Sales"
            else {"attributes": {"employeeType": "Intern"}},
        }
        if team.calling_sku is None:
            rule["assign"] = ["phoneSystem"]
            rule["voiceRouting"] = team.routing
        else:
            rule["assign"] = ["phoneSystem", _CALLING_ALIAS[team.calling_sku], "communicationsCredits"]
        rule["usageLocation"] = team.country
        rules.append(rule)
    for country in COUNTRIES:  # 10 attribute rules: meeting organizers per country
        rule = {
            "name": f"meeting-organizers-{country.code.lower()}",
            "select": {"attributes": {"jobTitle": list(ORGANIZER_TITLES), "usageLocation": country.code}},
            "exclude": {"attributes": {"employeeType": "Contractor"}},
            "assign": ["audioConferencing", "communicationsCredits"],
        }
        if country.code in ("US", "GB", "DE"):
            rule["disabledPlans"] = {"audioConferencing": []}
        rules.append(rule)
    rules.append(
        {
            "name": "international-callers",
            "select": {"attributes": {"extensionAttribute2": "VOICE-INTL"}},
            "exclude": {"groups": ["Contractors", "Interns"], "users": upns[:3]},
            "assign": ["phoneSystem", "internationalCalling"],
            "usageLocation": "US",
        }
    )
    rules.append(
        {
            "name": "resource-accounts",
            "select": {"groups": ["Auto Attendants"]},
            "assign": ["resourceAccount"],
        }
    )
    rules.append(
        {
            "name": "meeting-rooms",
            "select": {"groups": ["Meeting Rooms"]},
            "assign": ["roomsPro"],
            "disabledPlans": {"roomsPro": ["WHITEBOARD_PLAN3"]},
        }
    )
    rules.append(
        {
            "name": "voice-pilot",
            "select": {"groups": ["Voice Pilot"], "users": upns[3:15]},
            "assign": ["phoneSystem"],
            "voiceRouting": "directRouting",
        }
    )
    for position, chunk in enumerate(range(15, 75, 12)):  # 5 named-user rules
        rules.append(
            {
                "name": f"named-callers-{position + 1}",
                "select": {"users": upns[chunk : chunk + 12]},
                "assign": ["phoneSystem", "domesticCalling"],
                "usageLocation": "US",
            }
        )
    for extra, (department, place) in enumerate(dial_in_combinations(count)):
        rule = {
            "name": f"dial-in-{department.lower().replace(' ', '-')}-{place.lower().replace(' ', '-')}-{extra}",
            "select": {"attributes": {"department": department, "country": place, "extensionAttribute3": DIAL_IN}},
            "exclude": {"attributes": {"employeeType": ["Contractor", "Intern"]}},
            "assign": ["audioConferencing"],
        }
        if extra % 3 == 0:
            rule["disabledPlans"] = {"audioConferencing": []}
        rules.append(rule)
    return rules[:count]


def dial_in_combinations(rules: int) -> list[tuple[str, str]]:
    """(department, country name) pairs of the dial-in rules that fill a configuration of `rules` rules."""
    fixed = len(VOICE_TEAMS) + len(COUNTRIES) + 4 + 5  # the rules `_rules` writes before the dial-in ones
    departments = [d for d, _ in DEPARTMENTS]
    pairs = [(d, c.name) for c in COUNTRIES for d in departments]
    return [pairs[i % len(pairs)] for i in range(max(rules - fixed, 0))]


def config_document(count: int, generated: Generated) -> dict[str, Any]:
    return {
        "version": 1,
        "defaults": {"usageLocation": "US"},
        "policy": {
            "prune": True,
            "allowNumberLoss": False,
            "maxChanges": 5000,
            "protectedUsers": generated.sample_upns[-2:],
            "includeDisabledAccounts": False,
        },
        "licenses": dict(LICENSE_ALIASES),
        "rules": _rules(count, generated),
    }


def write_config(path: Path, count: int, generated: Generated) -> None:
    """Write the configuration as YAML (JSON is YAML; one rule per line keeps it readable)."""
    document = config_document(count, generated)
    rules = document.pop("rules")
    lines = [
        "# generated by benchmarks/synthetic.py",
        *(f"{key}: {json.dumps(value)}" for key, value in document.items()),
    ]
    lines.append("rules:")
    lines += [f"  - {json.dumps(rule, ensure_ascii=False)}" for rule in rules]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
