# METADATA
# title: Shared helpers of the WOMS policies
# description: >-
#   The helpers every authorization package needs, written once (Styra's style guide: shared
#   helper modules). The input document is built by services.common.authorizer.Authorizer:
#   {"tenant", "action", "principal": {"tenant", "subject", "roles", "body"?}, "resource",
#   "relation"?}. Packages refer to these rules by their full data reference
#   (data.woms.lib.same_tenant); regorus 0.2.5 does not resolve import aliases.
package woms.lib

import rego.v1

# the caller of the request
principal := object.get(input, "principal", {})

subject := object.get(principal, "subject", null)

roles := object.get(principal, "roles", [])

# what the service's access.py mapped its object to ({} when the action needs none)
resource := object.get(input, "resource", {})

# the period's evaluator relation, when the service passed it ({} otherwise)
relation := object.get(input, "relation", {})

# the token's tenant is the tenant of the request (another tenant's caller is always denied)
same_tenant if principal.tenant == input.tenant

# a service account of the platform (subject "system:<name>"), not a person
is_system if startswith(subject, "system:")

# a person of the tenant (every signed-in person holds role "staff")
staff if {
	same_tenant
	not is_system
}

# the caller holds one of `wanted` (a set of role names) in the request's tenant
has_role(wanted) if {
	same_tenant
	some role in roles
	role in wanted
}

# the caller acts for the body outside the tenant named `body` (001 §II.3)
acts_for(body) if {
	"external_body" in roles
	principal.body == body
}
