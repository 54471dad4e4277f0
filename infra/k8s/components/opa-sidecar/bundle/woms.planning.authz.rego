# METADATA
# title: Planning access
# description: >-
#   Who may read and change a tenant's planning data (001 §II.3, 004 Part A §II, DOMAIN.md
#   §2, §4, §7). The input is built by services.common.authorizer.Authorizer (schema:
#   input.schema.json next to this file): {"tenant", "action", "principal": {"tenant",
#   "subject", "roles"}, "resource"}. Resources (services/planning/service.py): a plan's owner
#   {"owner_person", "owner_unit_heads", "owner_unit_members", "approvers", "superiors"}
#   (plan_resource / owner_resource), a source system {"system"}, a delegation {"unit",
#   "unit_head", "delegated_by"?} (delegation_resource / end_resource), or {} for reads.
#   Rules: nothing across tenants (data.woms.lib.same_tenant); the org chart, catalog, plans,
#   progress and delegations are read by every person of the tenant and by the other WOMS
#   services (role service); the role grants by services and tenant administrators; the org
#   import by tenant administrators; plans are edited and submitted by their owner, the owning
#   unit's head or a tenant administrator, approved or returned by whoever leads the owner
#   (resource.approvers: "cấp nào, người nào trực tiếp lãnh đạo, giao việc"), never by the
#   owner; a key result's progress is recorded only by those the plan names — the owner
#   person, the owning unit's head — and their superiors in the evaluator chain
#   (resource.superiors), never by a mere colleague of the unit; external systems feed only
#   the key results whose data source they are; a delegation by a unit's head is recorded by
#   that head (resource.unit_head) or a tenant administrator, ended by the unit's head, the
#   head who delegated, or a tenant administrator. Every deny gives at least one reason
#   (Vietnamese / English).
# related_resources:
#   - description: DOMAIN.md §2, §4, §7; 001 §II.3; 004 Part A §II
package woms.planning.authz

import rego.v1

default allow := false

read_actions := {
	"unit.read", "person.read", "evaluator.read", "catalog.read",
	"plan.read", "progress.read", "org.export", "org.template", "delegation.read",
}

admin_actions := {"org.import"}

resource := data.woms.lib.resource

subject := data.woms.lib.subject

same_tenant if data.woms.lib.same_tenant

staff if data.woms.lib.staff

is_admin if data.woms.lib.has_role({"tenant_admin"})

is_service if data.woms.lib.has_role({"service"})

owns_plan if resource.owner_person == subject

owns_plan if subject in object.get(resource, "owner_unit_heads", [])

owner_or_head if owns_plan

owner_or_head if is_admin

superior if subject in object.get(resource, "superiors", [])

names_the_caller if owns_plan

names_the_caller if superior

approver if subject in object.get(resource, "approvers", [])

delegator if subject == resource.unit_head

may_end_delegation if delegator

may_end_delegation if subject == resource.delegated_by

# the org chart, catalog, plans, progress and delegations: every person of the tenant
allow if {
	staff
	input.action in read_actions
}

# other WOMS services (role "service") read the org chart, catalog and relation
allow if {
	is_service
	input.action in read_actions
}

allow if {
	is_admin
	input.action in admin_actions
}

# the role grants (who is tenant_admin, central, external_body): read by the other services
# to resolve their callers' roles, and by the tenant's administrators
allow if {
	input.action == "role.read"
	data.woms.lib.has_role({"service", "tenant_admin"})
}

allow if {
	staff
	input.action in {"plan.submit", "plan.edit"}
	owner_or_head
}

allow if {
	same_tenant
	input.action in {"plan.approve", "plan.return"}
	approver
	not owns_plan
}

# progress only by those the plan names and their superiors (issue 15)
allow if {
	staff
	input.action == "progress.record"
	names_the_caller
}

allow if {
	same_tenant
	input.action == "progress.ingest"
	data.woms.lib.is_system
	subject == concat("", ["system:", resource.system])
}

# a delegation by the head (DOMAIN.md §4): recorded by that head or a tenant administrator
allow if {
	staff
	input.action == "delegation.create"
	delegator
}

allow if {
	staff
	input.action == "delegation.end"
	may_end_delegation
}

allow if {
	input.action in {"delegation.create", "delegation.end"}
	is_admin
}

reasons contains "khác đơn vị thuê bao / another tenant" if not same_tenant

reasons contains "tài khoản hệ thống không có quyền này / a system account may not do this" if {
	same_tenant
	data.woms.lib.is_system
	not is_service
	input.action in read_actions
}

reasons contains "không tự phê duyệt kế hoạch của mình / nobody approves their own plan" if {
	input.action in {"plan.approve", "plan.return"}
	owns_plan
}

reasons contains "chỉ người có thẩm quyền phê duyệt / only the approver" if {
	input.action in {"plan.approve", "plan.return"}
	not approver
}

reasons contains "chỉ chủ kế hoạch hoặc cấp trưởng đơn vị / only the plan's owner or the unit's head" if {
	input.action in {"plan.submit", "plan.edit"}
	not owner_or_head
}

reasons contains "chỉ người được kế hoạch giao hoặc cấp trên / only the plan's owner, the unit's head or their superiors" if {
	input.action == "progress.record"
	not names_the_caller
}

reasons contains "chỉ hệ thống là nguồn dữ liệu / only the key result's source system" if {
	input.action == "progress.ingest"
	subject != concat("", ["system:", object.get(resource, "system", "")])
}

reasons contains "chỉ cấp trưởng đơn vị hoặc quản trị / only the unit's head or a tenant administrator" if {
	input.action == "delegation.create"
	not delegator
	not is_admin
}

reasons contains "chỉ cấp trưởng đơn vị, người ủy quyền hoặc quản trị / only the unit's head, the delegator or a tenant administrator" if {
	input.action == "delegation.end"
	not may_end_delegation
	not is_admin
}

reasons contains "cần quyền quản trị / tenant_admin role required" if {
	input.action in admin_actions
	not is_admin
}

reasons contains "chỉ dịch vụ hoặc quản trị / services and tenant administrators only" if {
	input.action == "role.read"
	not data.woms.lib.has_role({"service", "tenant_admin"})
}
