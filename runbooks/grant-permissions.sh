#!/usr/bin/env bash
# Grant a managed identity (or any service principal) the least-privileged Microsoft Graph application roles
# teams-licensing needs, with the Azure CLI (`az rest`). Idempotent: roles already assigned are skipped.
#
#   runbooks/grant-permissions.sh [--read-only] [--numbers] [--usage] [--graph https://graph.microsoft.us] SP_OBJECT_ID
#
# Default (plan and apply): LicenseAssignment.ReadWrite.All, User.ReadWrite.All, GroupMember.Read.All.
# --read-only (plan only):  LicenseAssignment.Read.All, User.Read.All, GroupMember.Read.All.
# --numbers (optional):     also TeamsTelephoneNumber.Read.All, so number protection reads the Teams number
#                           inventory instead of guessing from licenses (global cloud only).
# --usage (optional):       also CallRecords.Read.All, for `usage` (PSTN call records; application only).
# Group-based licensing needs nothing more: group assignLicense is LicenseAssignment.ReadWrite.All and
# reprocessLicenseAssignment User.ReadWrite.All (Graph reference, least privileged).
# The object id is the identity's service principal (enterprise application) object id, e.g.
#   az automation account show -n ACCOUNT -g GROUP --query identity.principalId -o tsv
# Sign in first with `az login` as an administrator allowed to grant application roles (Privileged Role
# Administrator or Global Administrator). --graph picks a national cloud's Graph host.
set -euo pipefail

READ_WRITE_ROLES=(LicenseAssignment.ReadWrite.All User.ReadWrite.All GroupMember.Read.All)
READ_ONLY_ROLES=(LicenseAssignment.Read.All User.Read.All GroupMember.Read.All)
NUMBER_ROLE=TeamsTelephoneNumber.Read.All
USAGE_ROLE=CallRecords.Read.All
GRAPH_APP_ID=00000003-0000-0000-c000-000000000000  # Microsoft Graph's application id, the same in every tenant

usage() {
  echo "usage: $0 [--read-only] [--numbers] [--usage] [--graph GRAPH_HOST] SERVICE_PRINCIPAL_OBJECT_ID" >&2
  exit 2
}

roles=("${READ_WRITE_ROLES[@]}")
graph=https://graph.microsoft.com
principal=
numbers=false
calls=false
while [ $# -gt 0 ]; do
  case "$1" in
    --read-only) roles=("${READ_ONLY_ROLES[@]}") ;;
    --numbers) numbers=true ;;
    --usage) calls=true ;;
    --graph) [ $# -ge 2 ] || usage; graph=${2%/}; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) [ -z "$principal" ] || usage; principal=$1 ;;
  esac
  shift
done
[ -n "$principal" ] || usage
if [ "$numbers" = true ]; then roles+=("$NUMBER_ROLE"); fi
if [ "$calls" = true ]; then roles+=("$USAGE_ROLE"); fi
if ! [[ "$principal" =~ ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$ ]]; then
  echo "not an object id (GUID): $principal" >&2
  exit 2
fi

graph_sp=$(az rest --method get \
  --url "$graph/v1.0/servicePrincipals?\$filter=appId eq '$GRAPH_APP_ID'&\$select=id" \
  --query "value[0].id" --output tsv)
[ -n "$graph_sp" ] || { echo "Microsoft Graph's service principal was not found in this tenant" >&2; exit 1; }

# what the identity already holds on Graph (app role ids)
assigned=$(az rest --method get \
  --url "$graph/v1.0/servicePrincipals/$principal/appRoleAssignments" \
  --query "value[?resourceId=='$graph_sp'].appRoleId" --output tsv)

for role in "${roles[@]}"; do
  role_id=$(az rest --method get \
    --url "$graph/v1.0/servicePrincipals/$graph_sp?\$select=appRoles" \
    --query "appRoles[?value=='$role' && contains(allowedMemberTypes, 'Application')].id | [0]" --output tsv)
  if [ -z "$role_id" ]; then
    echo "Graph has no application role $role" >&2
    exit 1
  fi
  if grep -qixF -- "$role_id" <<<"$assigned"; then
    echo "$role: already granted"
    continue
  fi
  az rest --method post \
    --url "$graph/v1.0/servicePrincipals/$principal/appRoleAssignments" \
    --headers "Content-Type=application/json" \
    --body "{\"principalId\": \"$principal\", \"resourceId\": \"$graph_sp\", \"appRoleId\": \"$role_id\"}" \
    --output none
  echo "$role: granted"
done
