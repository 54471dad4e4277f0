# METADATA
# title: Planning access
# description: >-
#   Who may read and change a tenant's planning data. The org chart, catalog and plans are
#   readable by everyone of the tenant (and central bodies); plans are submitted by their
#   owner (or the owning unit's head), approved or returned by whoever leads the owner
#   (001 §II.3: "cấp nào, người nào trực tiếp lãnh đạo, giao việc"), never by the owner;
#   external systems feed only the key results whose data source they are.
# related_resources:
#   - description: DOMAIN.md §7
package woms.planning.authz

import rego.v1

default allow := false

read_actions := {
	"unit.read", "person.read", "evaluator.read", "catalog.read",
	"plan.read", "progress.read", "org.export", "org.template",
}

admin_actions := {"org.import"}

principal := input.principal

is_admin if "tenant_admin" in principal.roles

is_system if startswith(principal.subject, "system:")

same_tenant if principal.tenant == input.tenant

allow if {
	same_tenant
	not is_system
	input.action in read_actions
}

# other WOMS services (role "service") read the org chart, catalog and relation
allow if {
	same_tenant
	"service" in principal.roles
	input.action in read_actions
}

allow if {
	same_tenant
	is_admin
	input.action in admin_actions
}

# the role grants (who is tenant_admin, central, external_body): read by the other services
# to resolve their callers' roles, and by the tenant's administrators
allow if {
	same_tenant
	input.action == "role.read"
	some role in {"service", "tenant_admin"}
	role in principal.roles
}

allow if {
	same_tenant
	input.action in {"plan.submit", "plan.edit"}
	not is_system
	owner_or_head
}

allow if {
	same_tenant
	input.action in {"plan.approve", "plan.return"}
	principal.subject in input.resource.approvers
	not owns_plan
}

allow if {
	same_tenant
	input.action == "progress.record"
	not is_system
	owner_or_head
}

allow if {
	same_tenant
	input.action == "progress.record"
	principal.subject in input.resource.owner_unit_members
}

allow if {
	same_tenant
	input.action == "progress.ingest"
	is_system
	principal.subject == concat("", ["system:", input.resource.system])
}

owns_plan if input.resource.owner_person == principal.subject

owns_plan if principal.subject in input.resource.owner_unit_heads

owner_or_head if owns_plan

owner_or_head if is_admin

reasons contains "khác đơn vị thuê bao / another tenant" if not same_tenant

reasons contains "không tự phê duyệt kế hoạch của mình / nobody approves their own plan" if {
	input.action in {"plan.approve", "plan.return"}
	owns_plan
}

reasons contains "chỉ người có thẩm quyền phê duyệt / only the approver" if {
	input.action in {"plan.approve", "plan.return"}
	not principal.subject in input.resource.approvers
}

reasons contains "cần quyền quản trị / tenant_admin role required" if {
	input.action in admin_actions
	not is_admin
}

reasons contains "chỉ dịch vụ hoặc quản trị / services and tenant administrators only" if {
	input.action == "role.read"
	not "service" in principal.roles
	not is_admin
}
