"""Did-you-mean for names people type: the choice that starts with what was typed, else the nearest spelling, else
the few choices there are."""

from __future__ import annotations

import difflib


def suggest(word: str, choices: list[str]) -> str:
    close = [c for c in choices if c.lower().startswith(word.lower())] if len(word) >= 3 else []
    close = close or difflib.get_close_matches(word, choices, n=1, cutoff=0.55)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (expected one of: {', '.join(choices)})" if 0 < len(choices) <= 8 else ""
