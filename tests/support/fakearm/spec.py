"""What Azure's REST specification for Microsoft.Automation 2024-10-23 says, as the fake holds it.

Source: Azure/azure-rest-api-specs, specification/automation/resource-manager/Microsoft.Automation/Automation/
(current layout; the repository was read file by file through a search index, which shows commits, not dates):

    readme.md (default tag package-2024-10-23) ............................ 1b7ee80c
    stable/2024-10-23/runtimeEnvironment.json ............................... 1b7ee80c
    stable/2024-10-23/package.json .......................................... b327b76f
    stable/2024-10-23/runbook.json .......................................... 3823abd8
    stable/2024-10-23/schedule.json ......................................... a8ffe4de
    stable/2024-10-23/jobSchedule.json ...................................... 3823abd8
    stable/2024-10-23/variable.json ......................................... de9eee6b
    stable/2024-10-23/account.json .......................................... 3e90a78a
    common/v1/definitions.json (ErrorResponse, name patterns) ............... 037a540c
    examples: runbook/publishRunbook.json, runbook/createOrUpdateRunbook.json (3823abd8),
      package/createOrUpdatePackage.json (044b4d2b), package/updatePackage.json (7b50883e),
      runtimeEnvironment/listRuntimeEnvironmentsByAutomationAccount.json (1b7ee80c), createOrUpdateSchedule.json
      (de9eee6b), createOrUpdateVariable.json (3823abd8); old layout: runbook/replaceRunbookDraftContent.json
      (02c6a5e7), runtimeEnvironment/createRuntimeEnvironment.json (5f717b71),
      runtimeEnvironment/deleteRuntimeEnvironment.json (11aef454), package/getPackage.json (ba16d1ab: a
      `Succeeded` package with `version`, `sizeInBytes`, `provisioningState`, no `contentLink`, no `error`),
      getPython3Package.json (c96b2e6d: no `contentLink` either), createJobSchedule.json (c9388702);
      job/listJobsByAutomationAccount.json (30e5e17d: `status`, `jobRuntimeEnvironment.runtimeEnvironmentName`)

Not in the specification, and marked where used: the five-minute rule for a schedule's start (the service's own
error text, quoted in Azure/ResourceModules#2216 and Azure/bicep#9780); the variable value limit (Azure Automation
service limits, MicrosoftDocs/azure-docs includes/azure-automation-service-limits.md @04fdaea2, 1,048,576
characters); Python 3.10 wheels being cp310 Linux x86-64 only and 100 MB at most (python-3-packages.md,
manage-runtime-environment.md); a variable's encryption cannot change once it exists (Set-AzAutomationVariable:
"You cannot modify the encrypted state of a variable after creation"; the service's error text is not documented,
the fake's is its own); deleting a runtime environment leaves its runbooks unable to use it
(Remove-AzAutomationRuntimeEnvironment); tags: at most 50 a resource (Resource Manager's Tags REST reference),
names of at most 512 characters without `<>%&\\?/`, values of at most 256 (Azure Resource Manager's tag
limitations). That publishing waits for the environment's packages, and the 409s for operations
that overlap, are what this project asks of the fake (the specification lists 409 for schedules only).
"""

from __future__ import annotations

API_VERSION = "2024-10-23"
PROVIDER = "Microsoft.Automation"

# common/v1 and common/v5 path parameter patterns
ACCOUNT_NAME = r"^[A-Za-z0-9][-A-Za-z0-9]{4,48}[A-Za-z0-9]$"
RESOURCE_GROUP = r"^[-\w\._]+$"  # 1 to 90 characters
ENVIRONMENT_NAME = r"^[a-zA-Z][a-zA-Z-_0-9]*$"
RUNBOOK_NAME = r"^[a-zA-Z][a-zA-Z-_0-9]*$"

# package.json: PackageProvisioningState (modelAsString)
PACKAGE_STATES = (
    "Created",
    "Creating",
    "StartingImportModuleRunbook",
    "RunningImportModuleRunbook",
    "ContentRetrieved",
    "ContentDownloaded",
    "ContentValidated",
    "ConnectionTypeImported",
    "ContentStored",
    "ModuleDataStored",
    "ActivitiesStored",
    "ModuleImportRunbookComplete",
    "Succeeded",
    "Failed",
    "Canceled",
    "Updating",
)
TERMINAL_PACKAGE_STATES = ("Succeeded", "Failed", "Canceled")
# the path an import takes in the fake, one state per read of the package
IMPORT_PATH = ("Creating", "ContentRetrieved", "ContentDownloaded", "ContentValidated", "ContentStored", "Succeeded")

# runbook.json: RunbookTypeEnum; runbook states
RUNBOOK_TYPES = (
    "Script",
    "Graph",
    "PowerShellWorkflow",
    "PowerShell",
    "GraphPowerShellWorkflow",
    "GraphPowerShell",
    "Python2",
    "Python3",
    "Python",
    "PowerShell72",
)

# schedule.json: ScheduleFrequency
FREQUENCIES = ("OneTime", "Day", "Hour", "Week", "Month", "Minute")
SCHEDULE_LEAD_MINUTES = 5
SCHEDULE_TOO_SOON = (
    "Argument scheduleAllData with value Orchestrator.Schedules.DataAccess.Models.ScheduleAllData is not valid. "
    "Error message: The start time of the schedule must be at least 5 minutes after the time you create the schedule. "
)

MAX_VARIABLE_CHARACTERS = 1_048_576
ENCRYPTION_IS_FIXED = "the encrypted state of a variable cannot be changed after it is created"

MAX_TAGS, MAX_TAG_NAME, MAX_TAG_VALUE = 50, 512, 256
TAG_NAME_FORBIDDEN = "<>%&\\?/"
MAX_PACKAGE_BYTES = 100 * 1024 * 1024

# manage-runtime-environment.md: languages and versions a runtime environment offers
RUNTIMES = {"Python": ("3.8", "3.10"), "PowerShell": ("5.1", "7.1", "7.2", "7.4")}

# response "type" of each resource, as the examples spell them
TYPES = {
    "account": "Microsoft.Automation/AutomationAccounts",
    "runtimeEnvironment": "Microsoft.Automation/automationAccounts/runtimeEnvironments",
    "package": "Microsoft.Automation/automationAccounts/runtimeEnvironments/packages",
    "runbook": "Microsoft.Automation/AutomationAccounts/Runbooks",
    "schedule": "Microsoft.Automation/AutomationAccounts/Schedules",
    "jobSchedule": "Microsoft.Automation/AutomationAccounts/JobSchedules",
    "variable": "Microsoft.Automation/AutomationAccounts/Variables",
}
