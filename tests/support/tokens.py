"""Bearer tokens shaped as Entra issues them (header.claims.signature, base64url), for tests that need the tenant
a token names (its `tid` claim) without a sign-in. Nothing here is a secret: the signature is not one."""

from __future__ import annotations

import base64
import json


def _part(value: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def entra_token(tenant_id: str, audience: str = "https://graph.microsoft.com") -> str:
    """An access token for `audience` issued in `tenant_id`, unsigned (Graph's fakes do not verify it)."""
    header = {"typ": "JWT", "alg": "RS256"}
    claims = {"aud": audience, "tid": tenant_id, "sub": "test"}
    return f"{_part(header)}.{_part(claims)}.not-a-signature"
