package woms.planning.authz_test

import rego.v1

person(subject) := {"tenant": "hanoi", "subject": subject, "roles": ["staff"]}

base := {"tenant": "hanoi", "principal": person("P010"), "resource": {}}

admin := {"tenant": "hanoi", "subject": "QT-HN", "roles": ["staff", "tenant_admin"]}

service := {"tenant": "hanoi", "subject": "system:tasks", "roles": ["service"]}

feeder := {"tenant": "hanoi", "subject": "system:disbursement", "roles": ["system"]}

# P010 heads the owning unit, P011 is a colleague; P001 approves; P003 is above P001
plan_resource := {
	"owner_person": null, "owner_unit_heads": ["P010"], "approvers": ["P001"],
	"owner_unit_members": ["P010", "P011"], "superiors": ["P001", "P003"],
}

# P021's personal plan: P019 evaluates P021, P003 is above P019
personal := {
	"owner_person": "P021", "owner_unit_heads": [], "approvers": ["P019"],
	"owner_unit_members": [], "superiors": ["P019", "P003"],
}

delegation := {"unit": "PL-VHXH", "unit_head": "P026", "delegated_by": "P026"}

ask(action, principal, res) := object.union(base, {"action": action, "principal": principal, "resource": res})

allow(action, principal, res) if data.woms.planning.authz.allow with input as ask(action, principal, res)

reasons(action, principal, res) := found if {
	found := data.woms.planning.authz.reasons with input as ask(action, principal, res)
}

# --- reads -------------------------------------------------------------------------------

test_staff_reads_org if {
	allow("unit.read", person("P010"), {})
	allow("delegation.read", person("P010"), {})
}

test_other_tenant_reads_nothing if {
	inp := object.union(ask("unit.read", person("P010"), {}), {"tenant": "thanhhoa"})
	not data.woms.planning.authz.allow with input as inp
	"khác đơn vị thuê bao / another tenant" in data.woms.planning.authz.reasons with input as inp
}

test_service_reads_org if {
	allow("evaluator.read", service, {})
}

test_source_system_reads_nothing if {
	not allow("unit.read", feeder, {})
	"tài khoản hệ thống không có quyền này / a system account may not do this" in reasons("unit.read", feeder, {})
}

# --- org import ---------------------------------------------------------------------------

test_admin_imports_the_org_chart if {
	allow("org.import", admin, {})
}

test_staff_does_not_import if {
	not allow("org.import", person("P010"), {})
	"cần quyền quản trị / tenant_admin role required" in reasons("org.import", person("P010"), {})
}

# --- role grants --------------------------------------------------------------------------

test_role_grants_read_by_services_and_admins if {
	allow("role.read", service, {})
	allow("role.read", admin, {})
}

test_role_grants_not_read_by_staff_or_another_tenant if {
	not allow("role.read", person("P010"), {})
	not allow("role.read", object.union(service, {"tenant": "thanhhoa"}), {})
	"chỉ dịch vụ hoặc quản trị / services and tenant administrators only" in reasons("role.read", person("P010"), {})
}

# --- plans --------------------------------------------------------------------------------

test_head_and_admin_submit_a_unit_plan if {
	allow("plan.submit", person("P010"), plan_resource)
	allow("plan.edit", admin, plan_resource)
	allow("plan.edit", person("P021"), personal)
}

test_colleague_does_not_submit if {
	not allow("plan.submit", person("P011"), plan_resource)
	"chỉ chủ kế hoạch hoặc cấp trưởng đơn vị / only the plan's owner or the unit's head" in reasons("plan.submit", person("P011"), plan_resource)
}

test_approver_approves if {
	allow("plan.approve", person("P001"), plan_resource)
	allow("plan.return", person("P019"), personal)
}

test_owner_cannot_approve_own_plan if {
	res := object.union(plan_resource, {"approvers": ["P010"]})
	not allow("plan.approve", person("P010"), res)
	"không tự phê duyệt kế hoạch của mình / nobody approves their own plan" in reasons("plan.approve", person("P010"), res)
}

test_non_approver_cannot_approve if {
	not allow("plan.approve", person("P011"), plan_resource)
	"chỉ người có thẩm quyền phê duyệt / only the approver" in reasons("plan.approve", person("P011"), plan_resource)
}

# --- progress (issue 15: only those the plan names and their superiors) -----------------

test_owner_head_and_superiors_record_progress if {
	allow("progress.record", person("P010"), plan_resource) # head of the owning unit
	allow("progress.record", person("P003"), plan_resource) # superior of the head
	allow("progress.record", person("P021"), personal) # the owner person
	allow("progress.record", person("P019"), personal) # their evaluator
}

test_colleague_admin_and_system_do_not_record_progress if {
	not allow("progress.record", person("P011"), plan_resource) # a member, not named
	not allow("progress.record", person("P022"), personal) # a peer of the owner
	not allow("progress.record", admin, personal)
	not allow("progress.record", object.union(feeder, {"subject": "system:P019"}), personal)
	msg := "chỉ người được kế hoạch giao hoặc cấp trên / only the plan's owner, the unit's head or their superiors"
	msg in reasons("progress.record", person("P011"), plan_resource)
}

test_system_feeds_only_its_source if {
	allow("progress.ingest", feeder, {"system": "disbursement"})
	not allow("progress.ingest", feeder, {"system": "dvc"})
	"chỉ hệ thống là nguồn dữ liệu / only the key result's source system" in reasons("progress.ingest", feeder, {"system": "dvc"})
}

test_person_does_not_ingest if {
	not allow("progress.ingest", person("P010"), {"system": "disbursement"})
}

# --- delegations (DOMAIN.md §4) -------------------------------------------------------------

test_head_records_a_delegation if {
	allow("delegation.create", person("P026"), delegation)
}

test_admin_records_and_ends_a_delegation if {
	allow("delegation.create", admin, delegation)
	allow("delegation.end", admin, delegation)
}

test_others_do_not_record_a_delegation if {
	not allow("delegation.create", person("P027"), delegation) # the deputy, the delegate-to-be
	not allow("delegation.create", person("P026"), object.union(delegation, {"unit_head": null}))
	not allow("delegation.create", object.union(person("P026"), {"tenant": "thanhhoa"}), delegation)
	msg := "chỉ cấp trưởng đơn vị hoặc quản trị / only the unit's head or a tenant administrator"
	msg in reasons("delegation.create", person("P027"), delegation)
}

test_head_or_delegator_ends_a_delegation if {
	allow("delegation.end", person("P026"), delegation)
	moved := object.union(delegation, {"unit_head": "P099"}) # a new head since
	allow("delegation.end", person("P026"), moved) # the head who delegated
	allow("delegation.end", person("P099"), moved) # the unit's head now
}

test_others_do_not_end_a_delegation if {
	not allow("delegation.end", person("P027"), delegation)
	msg := "chỉ cấp trưởng đơn vị, người ủy quyền hoặc quản trị / only the unit's head, the delegator or a tenant administrator"
	msg in reasons("delegation.end", person("P027"), delegation)
}

test_an_allowed_action_gives_no_reason if {
	count(reasons("progress.record", person("P010"), plan_resource)) == 0
	count(reasons("delegation.create", person("P026"), delegation)) == 0
}
