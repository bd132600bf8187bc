"""An assignment in state Error or Disabled holds no seat (Entra counts it in no subscription's consumed units):
a direct add of the same SKU needs a free seat like any other, and is withheld when there is none rather than sent
for Graph to refuse."""

from __future__ import annotations

from teamslicensing.model.plan import LicenseAdd, UserChange
from teamslicensing.plan.judgement import Safety, judge
from teamslicensing.tenant.snapshot import parse_snapshot
from tests.planner.test_plans import expand_tenant


def test_an_add_beside_an_error_state_group_copy_needs_a_seat() -> None:
    document = expand_tenant(
        {
            "subscribedSkus": [{"part": "MCOEV", "enabled": 1, "consumed": 1}],
            "users": [
                {
                    "upn": "amy@contoso.com",
                    "licenses": [{"sku": "MCOEV", "group": "Voice", "state": "Error", "error": "CountViolation"}],
                },
                {"upn": "bob@contoso.com", "licenses": ["MCOEV"]},
            ],
            "numbers": [],
        }
    )
    tenant = parse_snapshot(document, "case", frozenset())
    amy = next(u for u in tenant.users if u.user_principal_name == "amy@contoso.com")
    mcoev = next(s for s in tenant.skus if s.part_number == "MCOEV")
    change = UserChange(
        amy.id, amy.user_principal_name, None, (LicenseAdd(mcoev.sku_id, "MCOEV", ()),), (), ("undo",), False
    )
    judged = judge([change], tenant, Safety(max_changes=10, max_removals=10))
    assert judged.changes == (), "no seat is free, and the Error copy holds none"
