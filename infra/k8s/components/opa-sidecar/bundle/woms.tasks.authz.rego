# METADATA
# title: Tasks access
# description: >-
#   Who sees and moves a task (DOMAIN.md §4, §7). A task is seen by its assigner, its lead,
#   its collaborators, the heads of the lead and collaborating units and their superiors (the
#   evaluator chain of 001 §II.3); others do not see it. The lead works on it; the assigner or
#   an authority (the lead unit's head and superiors) decides it — never the lead
#   ("nobody approves a task they lead"). A person's ledger is read by the person, their
#   superiors, tenant administrators and central bodies.
package woms.tasks.authz

import rego.v1

default allow := false

principal := input.principal

resource := object.get(input, "resource", {})

same_tenant if principal.tenant == input.tenant

is_system if startswith(principal.subject, "system:")

staff if {
	same_tenant
	not is_system
}

decision_actions := {"task.approve", "task.return", "cause.confirm", "exceeded.mark"}

lead_actions := {"task.start", "task.submit", "task.progress", "pushback.create"}

assigner_actions := {"task.edit", "task.assign", "task.cancel", "pushback.answer"}

allow if {
	staff
	input.action in {"task.create", "evidence.upload"}
}

allow if {
	staff
	input.action == "task.read"
	principal.subject in resource.viewers
}

allow if {
	staff
	input.action in assigner_actions
	principal.subject == resource.assigner
}

allow if {
	staff
	input.action in assigner_actions
	principal.subject in resource.authorities
}

allow if {
	staff
	input.action in lead_actions
	principal.subject == resource.lead_person
}

allow if {
	staff
	input.action in decision_actions
	principal.subject != resource.lead_person
	principal.subject in resource.authorities
}

allow if {
	staff
	input.action in decision_actions
	principal.subject != resource.lead_person
	principal.subject == resource.assigner
}

allow if {
	staff
	input.action == "rating.write"
	principal.subject == resource.lead_person
}

allow if {
	staff
	input.action == "rating.write"
	principal.subject in resource.collaborating_people
}

allow if {
	staff
	input.action in {"ledger.read", "calendar.read", "warnings.read", "rating.read"}
	principal.subject == resource.person
}

allow if {
	staff
	input.action in {"ledger.read", "calendar.read", "warnings.read", "rating.read"}
	principal.subject in resource.superiors
}

allow if {
	same_tenant
	input.action in {"ledger.read", "warnings.read", "rating.read"}
	some role in {"tenant_admin", "central", "service"}
	role in principal.roles
}

allow if {
	staff
	input.action == "calendar.write"
	principal.subject == resource.person
}

# who gave an individual rating: only the authority over the person rated (000 §IV.4)
allow if {
	staff
	input.action == "rating.raters"
	principal.subject in resource.superiors
}

allow if {
	same_tenant
	input.action == "overdue.sweep"
	some role in {"tenant_admin", "service"}
	role in principal.roles
}

reasons contains "khác đơn vị thuê bao / another tenant" if not same_tenant

reasons contains "không tự duyệt nhiệm vụ mình chủ trì / nobody approves a task they lead" if {
	input.action in decision_actions
	principal.subject == resource.lead_person
}

reasons contains "không có thẩm quyền với nhiệm vụ này / no authority over this task" if {
	input.action in decision_actions
	not principal.subject in resource.authorities
	principal.subject != resource.assigner
}
