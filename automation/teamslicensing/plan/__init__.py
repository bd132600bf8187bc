"""The pure core: desired state + observed tenant -> plan. No I/O, clock, environment or globals.

Stages: `selection` (who each rule selects), `planner` (licenses resolved, seats counted, users planned),
`userplan` (one user's safe change and gaps), `voicerules` (what a set of licenses grants, and the voice rules).
"""

from teamslicensing.plan.planner import plan

__all__ = ["plan"]
