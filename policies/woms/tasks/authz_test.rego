package woms.tasks.authz_test

import rego.v1

# The Phúc Lợi office (PL-VP) of June 2026 (001 §II.3): P019 heads it, P003 (Chủ tịch UBND)
# evaluates P019, P020 is the deputy in charge of the field, P021 leads the task, P022
# collaborates on it, P023 is a peer of the same unit with no authority.
task := {
	"code": "CV-000001",
	"status": "assigned",
	"assigner": "P019",
	"proposed_by": "P019",
	"proposer_units": ["PL-VP"],
	"lead_person": "P021",
	"lead_unit": "PL-VP",
	"collaborating_people": ["P022"],
	"collaborating_units": [],
	"viewers": ["P003", "P019", "P020", "P021", "P022"],
	"authorities": ["P019", "P003", "P020"],
	"changes": [],
}

who(subject) := {"tenant": "hanoi", "subject": subject, "roles": ["staff"]}

ask_on(subject, action, resource) := {"tenant": "hanoi", "principal": who(subject), "action": action, "resource": resource}

ask(subject, action) := ask_on(subject, action, task)

with_roles(subject, roles, action, resource) := {
	"tenant": "hanoi",
	"principal": {"tenant": "hanoi", "subject": subject, "roles": roles},
	"action": action,
	"resource": resource,
}

allowed(doc) if {
	data.woms.tasks.authz.allow with input as doc
}

why(doc) := found if {
	found := data.woms.tasks.authz.reasons with input as doc
}

# a task being created by P021: for themselves, for their unit, for a colleague, blank
own := object.union(task, {"status": "draft", "assigner": "P021", "proposed_by": "P021", "proposer_units": ["PL-VP"]})

for_unit := object.union(own, {"lead_person": null, "authorities": ["P019", "P003"], "viewers": ["P003", "P019", "P021"]})

blank := object.union(own, {"lead_person": null, "lead_unit": null, "authorities": [], "collaborating_people": []})

for_colleague := object.union(own, {"lead_person": "P023", "authorities": ["P019", "P003"], "collaborating_people": []})

cannot_give := "chỉ đề xuất cho bản thân hoặc đơn vị mình; giao cho người khác cần thẩm quyền / propose only for yourself or your own unit; assigning to others needs authority over them"

no_authority := "không có thẩm quyền với người chủ trì (trưởng đơn vị, cấp phó phụ trách lĩnh vực, cấp trên, người được ủy quyền) / no authority over the task's lead (head of the unit, deputy in charge, superior, delegate)"

not_own := "không ai tự quyết định nhiệm vụ mình chủ trì / nobody gives or decides a task they lead"

not_collaborator := "người phối hợp không quyết định nhiệm vụ / a collaborator does not decide the task"

collaborators_by_authority := "chỉ người có thẩm quyền giao việc mới thêm, đổi đơn vị, cá nhân phối hợp / only an authority over the lead adds or changes collaborators"

proposer_only_while_open := "chỉ người có thẩm quyền, hoặc người đề xuất khi nhiệm vụ còn nháp, đề xuất / only an authority over the lead, or its proposer while it is a draft or proposal"

creator_proposes := "chỉ người lập nhiệm vụ đề xuất, cho bản thân hoặc đơn vị mình / only its creator proposes it, for themselves or their own unit"

# --- task.create ---------------------------------------------------------------------------

test_authority_creates_a_task_for_the_lead if {
	allowed(ask_on("P019", "task.create", object.union(task, {"changes": ["collaborating_people"]})))
	allowed(ask_on("P020", "task.create", task))
}

test_peer_cannot_create_a_task_for_a_colleague if {
	not allowed(ask_on("P021", "task.create", for_colleague))
	cannot_give in why(ask_on("P021", "task.create", for_colleague))
}

test_anyone_proposes_for_themselves_their_unit_or_a_blank_draft if {
	allowed(ask_on("P021", "task.create", own))
	allowed(ask_on("P021", "task.create", for_unit))
	allowed(ask_on("P021", "task.create", blank))
	allowed(ask_on("P021", "task.create", {}))
}

test_nobody_proposes_for_another_unit if {
	other := object.union(for_unit, {"lead_unit": "PL-KTHTDT"})
	not allowed(ask_on("P021", "task.create", other))
	cannot_give in why(ask_on("P021", "task.create", other))
}

test_only_an_authority_names_collaborators if {
	with_people := object.union(own, {"changes": ["collaborating_people"]})
	not allowed(ask_on("P021", "task.create", with_people))
	collaborators_by_authority in why(ask_on("P021", "task.create", with_people))
}

test_system_account_creates_nothing if {
	system := with_roles("system:tasks", ["service"], "task.create", blank)
	not allowed(system)
}

# --- evidence.upload, task.read ------------------------------------------------------------

test_staff_upload_evidence if {
	allowed(ask("P023", "evidence.upload"))
	not allowed(with_roles("system:cycle", ["service"], "evidence.upload", {}))
}

test_viewers_see_others_do_not if {
	allowed(ask("P022", "task.read"))
	allowed(ask("P003", "task.read"))
	not allowed(ask("P099", "task.read"))
}

# --- task.edit, task.cancel ----------------------------------------------------------------

test_authority_edits_and_cancels if {
	allowed(ask("P019", "task.edit"))
	allowed(ask_on("P020", "task.edit", object.union(task, {"changes": ["collaborating_units"]})))
	allowed(ask("P003", "task.cancel"))
}

test_peer_lead_and_collaborator_neither_edit_nor_cancel if {
	not allowed(ask("P023", "task.edit"))
	not allowed(ask("P021", "task.cancel"))
	not allowed(ask("P022", "task.cancel"))
	proposer_only_while_open in why(ask("P023", "task.edit"))
}

test_proposer_edits_and_cancels_own_draft_or_proposal if {
	allowed(ask_on("P021", "task.edit", own))
	allowed(ask_on("P021", "task.cancel", object.union(own, {"status": "proposed"})))
}

test_proposer_cannot_edit_once_assigned if {
	given := object.union(own, {"status": "assigned"})
	not allowed(ask_on("P021", "task.edit", given))
	not allowed(ask_on("P021", "task.cancel", given))
	proposer_only_while_open in why(ask_on("P021", "task.cancel", given))
}

test_proposer_cannot_add_collaborators if {
	edit := object.union(own, {"changes": ["collaborating_people", "name"]})
	not allowed(ask_on("P021", "task.edit", edit))
	collaborators_by_authority in why(ask_on("P021", "task.edit", edit))
}

test_creator_of_a_draft_for_a_colleague_does_not_own_it if {
	not allowed(ask_on("P021", "task.edit", for_colleague))
	creator_proposes in why(ask_on("P021", "task.edit", for_colleague))
}

# --- task.propose --------------------------------------------------------------------------

test_creator_proposes_own_task if {
	allowed(ask_on("P021", "task.propose", own))
	allowed(ask_on("P021", "task.propose", for_unit))
}

test_nobody_else_proposes_it if {
	not allowed(ask_on("P023", "task.propose", own))
	not allowed(ask_on("P021", "task.propose", for_colleague))
	creator_proposes in why(ask_on("P023", "task.propose", own))
}

# --- giving and deciding: authorities only -------------------------------------------------

authority_actions := ["task.assign", "task.accept", "task.approve", "task.return", "cause.confirm", "exceeded.mark", "pushback.answer"]

test_head_superior_and_deputy_in_charge_give_and_decide if {
	every action in authority_actions {
		allowed(ask("P019", action))
		allowed(ask("P003", action))
		allowed(ask("P020", action))
	}
}

test_lead_never_gives_or_decides_own_task if {
	as_authority := object.union(task, {"authorities": ["P019", "P021"]})
	every action in authority_actions {
		not allowed(ask_on("P021", action, as_authority))
		not_own in why(ask_on("P021", action, as_authority))
	}
}

test_collaborator_never_decides if {
	also_authority := object.union(task, {"authorities": ["P019", "P022"]})
	every action in authority_actions {
		not allowed(ask_on("P022", action, also_authority))
		not_collaborator in why(ask_on("P022", action, also_authority))
	}
}

test_peer_and_assigner_peer_never_decide if {
	by_peer := object.union(task, {"assigner": "P023"})
	every action in authority_actions {
		not allowed(ask("P023", action))
		not allowed(ask_on("P023", action, by_peer))
		no_authority in why(ask_on("P023", action, by_peer))
	}
}

test_roles_are_no_authority_over_work if {
	every action in authority_actions {
		not allowed(with_roles("QT-HN", ["staff", "tenant_admin"], action, task))
		not allowed(with_roles("BTC-TW", ["staff", "central"], action, task))
	}
}

test_other_tenant_decides_nothing if {
	foreign := object.union(ask("P019", "task.approve"), {"tenant": "thanhhoa"})
	not allowed(foreign)
	"khác đơn vị thuê bao / another tenant" in why(foreign)
}

# --- the lead's work -----------------------------------------------------------------------

test_lead_works_on_the_task if {
	every action in ["task.start", "task.submit", "task.progress", "pushback.create"] {
		allowed(ask("P021", action))
	}
}

test_nobody_else_works_on_it if {
	not allowed(ask("P019", "task.submit"))
	not allowed(ask("P022", "task.progress"))
	"chỉ người chủ trì nhiệm vụ / only the task's lead" in why(ask("P019", "task.start"))
}

# --- coordination ratings ------------------------------------------------------------------

test_lead_and_collaborators_rate_each_other if {
	allowed(ask("P021", "rating.write"))
	allowed(ask("P022", "rating.write"))
}

test_others_do_not_rate if {
	not allowed(ask("P023", "rating.write"))
	not allowed(ask("P019", "rating.write"))
}

# --- a person's ledger, calendar, warnings, ratings ----------------------------------------

person := {"person": "P021", "superiors": ["P019", "P003"]}

test_person_and_superiors_read if {
	every action in ["ledger.read", "calendar.read", "warnings.read", "rating.read"] {
		allowed(ask_on("P021", action, person))
		allowed(ask_on("P003", action, person))
	}
}

test_peer_reads_no_ones_ledger if {
	not allowed(ask_on("P023", "ledger.read", person))
	"không được phép / not allowed" in why(ask_on("P023", "ledger.read", person))
}

test_admin_central_and_service_read_ledgers_not_calendars if {
	allowed(with_roles("QT-HN", ["staff", "tenant_admin"], "ledger.read", person))
	allowed(with_roles("BTC-TW", ["staff", "central"], "rating.read", person))
	allowed(with_roles("system:evaluation", ["service"], "warnings.read", person))
	not allowed(with_roles("QT-HN", ["staff", "tenant_admin"], "calendar.read", person))
}

test_only_the_person_writes_their_calendar if {
	allowed(ask_on("P021", "calendar.write", person))
	not allowed(ask_on("P019", "calendar.write", person))
}

test_only_superiors_see_who_rated if {
	allowed(ask_on("P019", "rating.raters", person))
	not allowed(ask_on("P021", "rating.raters", person))
}

test_overdue_sweep_by_admin_or_service_only if {
	allowed(with_roles("QT-HN", ["staff", "tenant_admin"], "overdue.sweep", {}))
	allowed(with_roles("system:cycle", ["service"], "overdue.sweep", {}))
	not allowed(ask_on("P019", "overdue.sweep", {}))
}
