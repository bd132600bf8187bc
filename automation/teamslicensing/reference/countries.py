"""ISO 3166-1 alpha-2 country codes, the vocabulary of Graph's user.usageLocation.

Written out rather than taken from a library so the tool needs no extra dependency and the set cannot
change under us: the 249 officially assigned codes, without user-assigned (XK) or exceptionally reserved
(UK, EU) codes, which people type but which are not country codes.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ISO_3166_ALPHA2", "NAME_ALIASES", "country_code", "is_country_code"]

# One line per initial letter, so a missing or extra code is easy to spot in review.
_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    YE YT
    ZA ZM ZW
"""

ISO_3166_ALPHA2: frozenset[str] = frozenset(_CODES.split())


def is_country_code(code: str) -> bool:
    """True if `code` is an officially assigned alpha-2 code spelled exactly as Graph wants (upper case)."""
    return code in ISO_3166_ALPHA2


# English names directories hold that the country table (reference/data, one name per country) spells otherwise.
NAME_ALIASES: dict[str, str] = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "korea": "KR",
    "republic of korea": "KR",
    "czechia": "CZ",
    "türkiye": "TR",
    "turkiye": "TR",
    "the netherlands": "NL",
    "holland": "NL",
    "viet nam": "VN",
    "russian federation": "RU",
    "uae": "AE",
    "hong kong sar": "HK",
    "macedonia": "MK",
}


def country_code(value: str, names: Mapping[str, str]) -> str | None:
    """The ISO code a directory attribute means: a code (`gb`, `GB`) or an English name (`United Kingdom`), looked
    up in `names` (lower-case name -> code, from the country table) and the aliases above; None when it means none."""
    text = " ".join(value.split())
    if is_country_code(text.upper()) and len(text) == 2:
        return text.upper()
    key = text.casefold()
    return names.get(key) or NAME_ALIASES.get(key)
