# METADATA
# title: Tasks access
# description: >-
#   Who sees, gives and decides a task (DOMAIN.md §4, §7; 001 §II.3; 000 §V.2). The resource
#   is built by services/tasks/access.py (schema: input.schema.json). Giving the work
#   (assign, accept a proposal) and deciding it (approve, return, mark exceeded, confirm an
#   objective cause, cancel, answer a push-back, add collaborators) belong to the authorities
#   over its lead: the head of the lead unit and everyone above the head, everyone above the
#   lead in the evaluator chain, the deputies in charge of the field, the head's delegates —
#   never the lead, never a collaborator; the assigner only as such an authority; roles
#   (tenant_admin, central) are no authority over work. Anyone may draft and propose a task
#   for themselves or their own unit. The lead works on it; a person's ledger is read by the
#   person, their superiors, tenant administrators and central bodies.
package woms.tasks.authz

import rego.v1

default allow := false

subject := data.woms.lib.subject

resource := data.woms.lib.resource

lead := object.get(resource, "lead_person", null)

lead_unit := object.get(resource, "lead_unit", null)

authorities := object.get(resource, "authorities", [])

collaborators := object.get(resource, "collaborating_people", [])

# decisions on the work (DOMAIN.md §4 "decisions of the same authorities")
decision_actions := {"task.approve", "task.return", "cause.confirm", "exceeded.mark"}

# giving the work: "giao" is an act of authority (001 §II.3, 000 §V.2)
give_actions := {"task.assign", "task.accept"}

# what only an authority over the lead does
authority_actions := (decision_actions | give_actions) | {"pushback.answer"}

lead_actions := {"task.start", "task.submit", "task.progress", "pushback.create"}

person_reads := {"ledger.read", "calendar.read", "warnings.read", "rating.read"}

# states in which the proposer still owns the task (not yet given)
proposer_states := {"draft", "proposed"}

collaborator_fields := {"collaborating_units", "collaborating_people"}

# a person with authority over the task's lead; never the lead, never a collaborator
authority if {
	data.woms.lib.staff
	subject in authorities
	subject != lead
	not subject in collaborators
}

# the task is for the caller themselves, or for the caller's own unit (DOMAIN.md §4)
own_lead if {
	data.woms.lib.staff
	lead == subject
}

own_lead if {
	data.woms.lib.staff
	lead == null
	lead_unit in object.get(resource, "proposer_units", [])
}

# a draft naming no lead yet is its author's note
own_lead if {
	data.woms.lib.staff
	lead == null
	lead_unit == null
}

# the task's creator, while it is for themselves or their own unit
proposer if {
	own_lead
	subject == object.get(resource, "proposed_by", null)
}

touches_collaborators if {
	some name in object.get(resource, "changes", [])
	name in collaborator_fields
}

allow if {
	input.action == "task.create"
	authority
}

allow if {
	input.action == "task.create"
	own_lead
	not touches_collaborators
}

allow if {
	data.woms.lib.staff
	input.action == "evidence.upload"
}

allow if {
	data.woms.lib.staff
	input.action == "task.read"
	subject in object.get(resource, "viewers", [])
}

allow if {
	input.action in {"task.edit", "task.cancel"}
	authority
}

allow if {
	input.action in {"task.edit", "task.cancel"}
	proposer
	resource.status in proposer_states
	not touches_collaborators
}

allow if {
	input.action == "task.propose"
	proposer
}

allow if {
	input.action in authority_actions
	authority
}

allow if {
	data.woms.lib.staff
	input.action in lead_actions
	subject == lead
}

allow if {
	data.woms.lib.staff
	input.action == "rating.write"
	subject == lead
}

allow if {
	data.woms.lib.staff
	input.action == "rating.write"
	subject in collaborators
}

allow if {
	data.woms.lib.staff
	input.action in person_reads
	subject == resource.person
}

allow if {
	data.woms.lib.staff
	input.action in person_reads
	subject in resource.superiors
}

allow if {
	input.action in {"ledger.read", "warnings.read", "rating.read"}
	data.woms.lib.has_role({"tenant_admin", "central", "service"})
}

allow if {
	data.woms.lib.staff
	input.action == "calendar.write"
	subject == resource.person
}

# who gave an individual rating: only the authority over the person rated (000 §IV.4)
allow if {
	data.woms.lib.staff
	input.action == "rating.raters"
	subject in resource.superiors
}

allow if {
	input.action == "overdue.sweep"
	data.woms.lib.has_role({"tenant_admin", "service"})
}

# --- why not (Vietnamese / English) ----------------------------------------------------------

denials contains "khác đơn vị thuê bao / another tenant" if not data.woms.lib.same_tenant

denials contains "không ai tự quyết định nhiệm vụ mình chủ trì / nobody gives or decides a task they lead" if {
	input.action in authority_actions
	subject == lead
}

denials contains "người phối hợp không quyết định nhiệm vụ / a collaborator does not decide the task" if {
	input.action in authority_actions
	subject in collaborators
}

denials contains "không có thẩm quyền với người chủ trì (trưởng đơn vị, cấp phó phụ trách lĩnh vực, cấp trên, người được ủy quyền) / no authority over the task's lead (head of the unit, deputy in charge, superior, delegate)" if {
	input.action in authority_actions
	not subject in authorities
}

denials contains "chỉ đề xuất cho bản thân hoặc đơn vị mình; giao cho người khác cần thẩm quyền / propose only for yourself or your own unit; assigning to others needs authority over them" if {
	input.action == "task.create"
	not authority
	not own_lead
}

denials contains "chỉ người có thẩm quyền giao việc mới thêm, đổi đơn vị, cá nhân phối hợp / only an authority over the lead adds or changes collaborators" if {
	input.action in {"task.create", "task.edit"}
	touches_collaborators
	not authority
}

denials contains "chỉ người có thẩm quyền, hoặc người đề xuất khi nhiệm vụ còn nháp, đề xuất / only an authority over the lead, or its proposer while it is a draft or proposal" if {
	input.action in {"task.edit", "task.cancel"}
	not authority
	not resource.status in proposer_states
}

denials contains "chỉ người lập nhiệm vụ đề xuất, cho bản thân hoặc đơn vị mình / only its creator proposes it, for themselves or their own unit" if {
	input.action in {"task.propose", "task.edit", "task.cancel"}
	not authority
	not proposer
}

denials contains "chỉ người chủ trì nhiệm vụ / only the task's lead" if {
	input.action in lead_actions
	subject != lead
}

reasons contains reason if some reason in denials

reasons contains "không được phép / not allowed" if {
	not allow
	count(denials) == 0
}
