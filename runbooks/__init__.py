"""Azure Automation files shipped inside the package as `teamslicensing.runbooks` (pyproject maps this folder there),
so `bundle-runbook` finds the runbook and `grant-permissions.sh` from any install, not only from a checkout."""
