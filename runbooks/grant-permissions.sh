#!/usr/bin/env bash
# Grant a managed identity (or any service principal) the least-privileged Microsoft Graph application roles a
# kind of teams-licensing run needs, with the Azure CLI (`az rest`). Idempotent: a role already assigned, or one
# an assigned role covers, is skipped.
#
#   runbooks/grant-permissions.sh [--mode MODE]... [--optional] [--graph https://graph.microsoft.us] SP_OBJECT_ID
#
# MODE (repeatable; default apply): plan, apply, usage, inventory, numbers, policies, groups or all, as
# `teams-licensing permissions --mode MODE` prints them with what each role is for. --optional also grants the
# modes' optional roles (the Teams number inventory; Member.Read.Hidden, for the members of hidden-membership groups). Older flags: --read-only is
# plan instead of apply, --numbers adds inventory, --usage adds usage.
# The role lists come from the tool's permission table (Microsoft's permissions reference), generated below.
# The object id is the identity's service principal (enterprise application) object id, e.g.
#   az automation account show -n ACCOUNT -g GROUP --query identity.principalId -o tsv
# Sign in first with `az login` as an administrator allowed to grant application roles (Privileged Role
# Administrator or Global Administrator). --graph picks a national cloud's Graph host.
# Plain bash 3.2 and later (macOS's too): no associative arrays, no empty arrays under set -u.
set -euo pipefail

# --- generated from teams-licensing's permission table (tests/support/permission_docs.py) ---
MODES="plan init apply usage inventory numbers policies groups all"
required_roles() {
  case "$1" in
    plan) echo "LicenseAssignment.Read.All User.Read.All GroupMember.Read.All" ;;
    init) echo "LicenseAssignment.Read.All User.Read.All GroupMember.Read.All" ;;
    apply) echo "LicenseAssignment.Read.All GroupMember.Read.All User.ReadWrite.All LicenseAssignment.ReadWrite.All" ;;
    usage) echo "LicenseAssignment.Read.All User.Read.All GroupMember.Read.All CallRecord-PstnCalls.Read.All" ;;
    inventory) echo "LicenseAssignment.Read.All TeamsTelephoneNumber.Read.All" ;;
    numbers) echo "LicenseAssignment.Read.All User.Read.All GroupMember.Read.All TeamsTelephoneNumber.ReadWrite.All" ;;
    policies) echo "LicenseAssignment.Read.All User.Read.All GroupMember.Read.All TeamsUserConfiguration.Read.All TeamsPolicyUserAssign.ReadWrite.All" ;;
    groups) echo "LicenseAssignment.Read.All GroupMember.Read.All LicenseAssignment.ReadWrite.All User.ReadWrite.All" ;;
    all) echo "LicenseAssignment.Read.All GroupMember.Read.All User.ReadWrite.All LicenseAssignment.ReadWrite.All CallRecord-PstnCalls.Read.All TeamsTelephoneNumber.ReadWrite.All TeamsUserConfiguration.Read.All TeamsPolicyUserAssign.ReadWrite.All" ;;
  esac
}
optional_roles() {
  case "$1" in
    plan) echo "TeamsTelephoneNumber.Read.All Member.Read.Hidden" ;;
    init) echo "TeamsTelephoneNumber.Read.All Member.Read.Hidden" ;;
    apply) echo "TeamsTelephoneNumber.Read.All Member.Read.Hidden" ;;
    usage) echo "TeamsTelephoneNumber.Read.All" ;;
    inventory) echo "" ;;
    numbers) echo "TeamsUserConfiguration.Read.All" ;;
    policies) echo "" ;;
    groups) echo "TeamsTelephoneNumber.Read.All Member.Read.Hidden" ;;
    all) echo "Member.Read.Hidden" ;;
  esac
}
accepted_instead() {  # held, any of these grants everything the role is asked for
  case "$1" in
    LicenseAssignment.Read.All) echo "Organization.Read.All Directory.Read.All Organization.ReadWrite.All Directory.ReadWrite.All" ;;
    User.Read.All) echo "Directory.Read.All User.ReadWrite.All Directory.ReadWrite.All" ;;
    GroupMember.Read.All) echo "Group.Read.All Directory.Read.All" ;;
    TeamsTelephoneNumber.Read.All) echo "TeamsTelephoneNumber.ReadWrite.All" ;;
    User.ReadWrite.All) echo "Directory.ReadWrite.All" ;;
    LicenseAssignment.ReadWrite.All) echo "Directory.ReadWrite.All" ;;
    CallRecord-PstnCalls.Read.All) echo "CallRecords.Read.All" ;;
  esac
}
# --- end of the generated part ---

GRAPH_APP_ID=00000003-0000-0000-c000-000000000000  # Microsoft Graph's application id, the same in every tenant

usage() {
  echo "usage: $0 [--mode MODE]... [--optional] [--read-only] [--numbers] [--usage] [--graph GRAPH_HOST]" \
    "SERVICE_PRINCIPAL_OBJECT_ID (MODE: ${MODES// /, })" >&2
  exit 2
}

has() {  # has WORD LIST: whether the space-separated LIST holds WORD
  case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

modes=
base=apply
added=
optional=false
graph=https://graph.microsoft.com
principal=
while [ $# -gt 0 ]; do
  case "$1" in
    --mode)
      [ $# -ge 2 ] || usage
      has "$2" "$MODES" || { echo "unknown mode: $2 (one of: $MODES)" >&2; exit 2; }
      modes="$modes $2"; shift ;;
    --read-only) base=plan ;;
    --numbers) added="$added inventory" ;;
    --usage) added="$added usage" ;;
    --optional) optional=true ;;
    --graph) [ $# -ge 2 ] || usage; graph=${2%/}; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) [ -z "$principal" ] || usage; principal=$1 ;;
  esac
  shift
done
[ -n "$principal" ] || usage
if ! [[ "$principal" =~ ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$ ]]; then
  echo "not an object id (GUID): $principal" >&2
  exit 2
fi
[ -n "$modes" ] || modes=$base
modes="$modes $added"

wanted=
for mode in $modes; do
  roles=$(required_roles "$mode")
  if [ "$optional" = true ]; then roles="$roles $(optional_roles "$mode")"; fi
  for role in $roles; do has "$role" "$wanted" || wanted="$wanted $role"; done
done
roles=
for role in $wanted; do  # one another wanted role covers is not granted as well (User.Read.All beside User.ReadWrite.All)
  covered=
  for other in $(accepted_instead "$role"); do has "$other" "$wanted" && covered=$other && break; done
  if [ -n "$covered" ]; then echo "$role: covered by $covered"; else roles="$roles $role"; fi
done

graph_sp=$(az rest --method get \
  --url "$graph/v1.0/servicePrincipals?\$filter=appId eq '$GRAPH_APP_ID'&\$select=id" \
  --query "value[0].id" --output tsv)
[ -n "$graph_sp" ] || { echo "Microsoft Graph's service principal was not found in this tenant" >&2; exit 1; }

# Graph's application roles (name, id), and the ids the identity already holds on Graph
app_roles=$(az rest --method get \
  --url "$graph/v1.0/servicePrincipals/$graph_sp?\$select=appRoles" \
  --query "appRoles[?contains(allowedMemberTypes, 'Application')].[value, id]" --output tsv)
assigned=$(az rest --method get \
  --url "$graph/v1.0/servicePrincipals/$principal/appRoleAssignments" \
  --query "value[?resourceId=='$graph_sp'].appRoleId" --output tsv)

role_id() {
  awk -F '\t' -v name="$1" '$1 == name { print $2; exit }' <<<"$app_roles"
}

held() {
  local id
  id=$(role_id "$1")
  [ -n "$id" ] && grep -qixF -- "$id" <<<"$assigned"
}

for role in $roles; do
  role_id=$(role_id "$role")
  if [ -z "$role_id" ]; then
    echo "Graph has no application role $role" >&2
    exit 1
  fi
  if held "$role"; then
    echo "$role: already granted"
    continue
  fi
  covered=
  for other in $(accepted_instead "$role"); do held "$other" && covered=$other && break; done
  if [ -n "$covered" ]; then
    echo "$role: covered by $covered, already granted"
    continue
  fi
  az rest --method post \
    --url "$graph/v1.0/servicePrincipals/$principal/appRoleAssignments" \
    --headers "Content-Type=application/json" \
    --body "{\"principalId\": \"$principal\", \"resourceId\": \"$graph_sp\", \"appRoleId\": \"$role_id\"}" \
    --output none
  echo "$role: granted"
done
