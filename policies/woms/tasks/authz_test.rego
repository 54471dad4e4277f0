package woms.tasks.authz_test

import rego.v1

task := {
	"assigner": "P010", "lead_person": "P020", "collaborating_people": ["P021"],
	"viewers": ["P010", "P020", "P021", "P001"], "authorities": ["P010", "P001"],
}

who(subject) := {"tenant": "hanoi", "subject": subject, "roles": ["staff"]}

ask(subject, action) := {"tenant": "hanoi", "principal": who(subject), "action": action, "resource": task}

test_viewers_see_others_do_not if {
	data.woms.tasks.authz.allow with input as ask("P021", "task.read")
	not data.woms.tasks.authz.allow with input as ask("P099", "task.read")
}

test_lead_submits_but_never_approves if {
	data.woms.tasks.authz.allow with input as ask("P020", "task.submit")
	not data.woms.tasks.authz.allow with input as ask("P020", "task.approve")
	not data.woms.tasks.authz.allow with input as object.union(ask("P020", "task.approve"), {"resource": object.union(task, {"authorities": ["P020"]})})
}

test_authority_approves if {
	data.woms.tasks.authz.allow with input as ask("P001", "task.approve")
	data.woms.tasks.authz.allow with input as ask("P010", "task.return")
	not data.woms.tasks.authz.allow with input as ask("P021", "task.approve")
}

test_other_tenant_nothing if {
	not data.woms.tasks.authz.allow with input as object.union(ask("P001", "task.read"), {"tenant": "thanhhoa"})
}
