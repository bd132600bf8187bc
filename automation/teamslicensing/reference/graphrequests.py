"""Every kind of request the tool sends to Microsoft Graph, as data: its URL template, why it is sent, and what it
reads or sets of which kind of object. `permissions` says which application permission each needs."""

from __future__ import annotations

from dataclasses import dataclass

from teamslicensing.model.desired import SELECTABLE_ATTRIBUTES
from teamslicensing.model.tenant import USER_FIELDS

# what the tool reads of a user, and of a group (the tenant read's $select lists, with every selectable attribute)
USER_PROPERTIES = frozenset(
    {
        *USER_FIELDS,
        "onPremisesExtensionAttributes",  # where Graph keeps extensionAttribute1..15
        *(name for name in SELECTABLE_ATTRIBUTES if not name.startswith("extensionAttribute")),
    }
)
GROUP_PROPERTIES = frozenset({"id", "displayName", "assignedLicenses", "licenseProcessingState"})
BASIC_GROUP = frozenset({"id", "displayName"})


@dataclass(frozen=True)
class GraphRequest:
    """One kind of request the tool sends: Graph's URL template (relative to the version root, `{id}` for a key)
    and what it reads or sets of which kind of object (None: no rule needed, every granting permission will do)."""

    method: str
    path: str
    why: str
    returns: tuple[str, frozenset[str]] | None = None
    # a member list whose users' properties come only with a permission to read users (limited information)
    objects_as: str | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


MEMBERS_OF = "/groups/{{id}}/{relation}/microsoft.graph.user"
NUMBERS_ROOT = "/admin/teams/telephoneNumberManagement"
CALLS_OF = "/communications/callRecords/{function}(fromDateTime={{value}},toDateTime={{value}})"
REQUESTS: tuple[GraphRequest, ...] = (
    GraphRequest("GET", "/subscribedSkus", "subscriptions: seats and service plans (every run reads them first)"),
    GraphRequest(
        "GET", "/users", "users with their licenses, usage location and rule attributes", ("user", USER_PROPERTIES)
    ),
    GraphRequest("GET", "/users/{id}", "a user read back after a write", ("user", USER_PROPERTIES)),
    GraphRequest("PATCH", "/users/{id}", "set a missing usage location", ("user", frozenset({"usageLocation"}))),
    GraphRequest("POST", "/users/{id}/assignLicense", "add and remove a user's licenses"),
    GraphRequest(
        "POST", "/users/{id}/reprocessLicenseAssignment", "`reprocess`: Entra applies a user's group licenses again"
    ),
    GraphRequest(
        "GET",
        "/users/{id}/transitiveMemberOf/microsoft.graph.group",
        "`init`: the groups voice license holders are in, the candidates for its rules",
        ("group", BASIC_GROUP),
    ),
    GraphRequest("GET", "/groups", "groups found by display name, with their licenses", ("group", GROUP_PROPERTIES)),
    GraphRequest(
        "GET", "/groups/{id}", "groups by id, their licenses and processing state", ("group", GROUP_PROPERTIES)
    ),
    GraphRequest("GET", MEMBERS_OF.format(relation="transitiveMembers"), "a group's members", objects_as="GET /users"),
    GraphRequest("GET", MEMBERS_OF.format(relation="members"), "a licensing group's direct members"),
    GraphRequest("POST", "/groups/{id}/assignLicense", "group-based licensing: change a group's licenses"),
    GraphRequest(
        "GET",
        "/admin/teams/telephoneNumberManagement/numberAssignments",
        "the Teams number inventory, so number protection knows who holds a number (global cloud only; without "
        "it: NUMBER_INVENTORY_UNAVAILABLE and a guess from licenses)",
    ),
    GraphRequest("GET", CALLS_OF.format(function="getPstnCalls"), "PSTN call records (application only)"),
    GraphRequest(
        "GET", CALLS_OF.format(function="getDirectRoutingCalls"), "Direct Routing call records (application only)"
    ),
    GraphRequest(
        "GET",
        "/admin/teams/userConfigurations",
        "each user's Teams numbers, voice flag and policies in effect, so policies compare by name (global cloud "
        "only; plan)",
    ),
    GraphRequest(
        "GET",
        "/admin/teams/userConfigurations/{id}",
        "the Teams configuration of the users a scoped read reads, and whether Teams shows a license apply just "
        "wrote when it refused a number for want of it",
    ),
    GraphRequest("POST", f"{NUMBERS_ROOT}/numberAssignments/assignNumber", "assign a Teams phone number (apply)"),
    GraphRequest(
        "POST",
        f"{NUMBERS_ROOT}/numberAssignments/unassignNumber",
        "free a number: a leaver's (policy.unassignNumbers), or one an undo takes back (apply, undo)",
    ),
    GraphRequest("POST", f"{NUMBERS_ROOT}/numberAssignments/updateNumber", "set a number's emergency location (apply)"),
    GraphRequest(
        "GET", f"{NUMBERS_ROOT}/operations/{{id}}", "follow a number assignment until Teams has made it (apply)"
    ),
    GraphRequest(
        "GET",
        "/admin/teams/policy/getPolicyId(type={value},name={value})",
        "a Teams policy's id by its name, before it is assigned (apply; Microsoft lists no read-only permission "
        "for it)",
    ),
    GraphRequest("POST", "/admin/teams/policy/userAssignments/assign", "assign a user's Teams policies (apply)"),
    GraphRequest("POST", "/admin/teams/policy/userAssignments/unassign", "take back a policy an undo restores (undo)"),
)
