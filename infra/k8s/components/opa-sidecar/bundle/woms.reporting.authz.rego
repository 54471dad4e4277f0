# METADATA
# title: Reporting access
# description: >-
#   Who reads which reporting figures (DOMAIN.md §7–§9, issue 6). Input: {"tenant" (the tenant
#   of the path; for central queries the caller's own), "action", "principal": {"tenant",
#   "subject", "roles": [..]}, "resource": {"person"?, "unit"?, "person_readers": the person's
#   superiors along the evaluator relation of 001 §II.3, "unit_readers": the unit's head and
#   the head's superiors, "tenants": tenants of a central query}}; the relation is read from
#   planning by the API, as for the evaluation policy.
#   reporting.person (a person's card and competency profile): the person, their superiors,
#   roles tenant_admin and central of the same tenant. reporting.unit (a unit's figures,
#   analysis and cycle with names): the unit's head and the people above, tenant_admin,
#   central of the same tenant. reporting.allocate (additional income of a unit): the unit's
#   head and the people above, tenant_admin. reporting.tenant (the whole tenant's figures):
#   tenant_admin, central of the same tenant. reporting.central (aggregates across units and
#   tenants, no person's details): role central; granted by a tenant it covers that tenant
#   only, granted by the platform tenant "platform" it covers every tenant. Persons' details
#   never leave their tenant: every action but reporting.central needs the caller's tenant.
#   Deny by default; every deny gives at least one reason (Vietnamese / English).
# related_resources:
#   - description: DOMAIN.md §7-§9, 001 §II.3, 000 §IV.5-6
package woms.reporting.authz

import rego.v1

default allow := false

actions := {
	"reporting.person", "reporting.unit", "reporting.allocate",
	"reporting.tenant", "reporting.central",
}

principal := data.woms.lib.principal

resource := data.woms.lib.resource

subject := data.woms.lib.subject

same_tenant if data.woms.lib.same_tenant

is_admin if "tenant_admin" in data.woms.lib.roles

is_central if "central" in data.woms.lib.roles

# tenant administrators and central bodies of the tenant read the whole tenant
tenant_wide if is_admin

tenant_wide if is_central

is_person if subject == resource.person

is_person_reader if subject in object.get(resource, "person_readers", [])

is_unit_reader if subject in object.get(resource, "unit_readers", [])

asked := object.get(resource, "tenants", [])

# central granted by the platform covers every tenant; granted by a tenant, that tenant only
covers_all_asked if principal.tenant == "platform"

covers_all_asked if {
	count(asked) > 0
	every t in asked {
		t == principal.tenant
	}
}

allow if {
	same_tenant
	input.action == "reporting.person"
	is_person
}

allow if {
	same_tenant
	input.action == "reporting.person"
	is_person_reader
}

allow if {
	same_tenant
	input.action in {"reporting.person", "reporting.unit", "reporting.tenant"}
	tenant_wide
}

allow if {
	same_tenant
	input.action in {"reporting.unit", "reporting.allocate"}
	is_unit_reader
}

allow if {
	same_tenant
	input.action == "reporting.allocate"
	is_admin
}

allow if {
	input.action == "reporting.central"
	is_central
	count(asked) > 0
	covers_all_asked
}

reasons contains "khác đơn vị thuê bao / another tenant" if {
	input.action != "reporting.central"
	not same_tenant
}

reasons contains "thao tác không được hỗ trợ / unknown action" if not input.action in actions

reasons contains "chỉ người này, cấp trên của họ, quản trị hoặc cơ quan trung tâm / only the person, their superiors, an administrator or a central body" if {
	input.action == "reporting.person"
	not allow
}

reasons contains "chỉ người đứng đầu đơn vị, cấp trên, quản trị hoặc cơ quan trung tâm / only the unit head, superiors, an administrator or a central body" if {
	input.action == "reporting.unit"
	not allow
}

reasons contains "chỉ người đứng đầu đơn vị, cấp trên hoặc quản trị / only the unit head, superiors or an administrator" if {
	input.action == "reporting.allocate"
	not allow
}

reasons contains "chỉ quản trị hoặc cơ quan trung tâm / only an administrator or a central body" if {
	input.action == "reporting.tenant"
	not allow
}

reasons contains "chỉ cơ quan trung tâm / only a central body" if {
	input.action == "reporting.central"
	not is_central
}

reasons contains "chưa chọn đơn vị thuê bao / no tenant asked" if {
	input.action == "reporting.central"
	count(asked) == 0
}

reasons contains "cơ quan trung tâm của tỉnh chỉ xem tỉnh mình / a tenant's central body covers its own tenant only" if {
	input.action == "reporting.central"
	count(asked) > 0
	not covers_all_asked
}
