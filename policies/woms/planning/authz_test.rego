package woms.planning.authz_test

import rego.v1

base := {"tenant": "hanoi", "principal": {"tenant": "hanoi", "subject": "P010", "roles": ["staff"]}}

plan_resource := {
	"owner_person": null, "owner_unit_heads": ["P010"], "approvers": ["P001"],
	"owner_unit_members": ["P010", "P011"],
}

test_staff_reads_org if {
	data.woms.planning.authz.allow with input as object.union(base, {"action": "unit.read"})
}

test_other_tenant_reads_nothing if {
	not data.woms.planning.authz.allow with input as object.union(base, {"action": "unit.read", "tenant": "thanhhoa"})
}

test_head_submits_unit_plan if {
	data.woms.planning.authz.allow with input as object.union(base, {"action": "plan.submit", "resource": plan_resource})
}

test_owner_cannot_approve_own_plan if {
	res := object.union(plan_resource, {"approvers": ["P010"]})
	not data.woms.planning.authz.allow with input as object.union(base, {"action": "plan.approve", "resource": res})
}

test_approver_approves if {
	inp := object.union(base, {"action": "plan.approve", "resource": plan_resource, "principal": {"tenant": "hanoi", "subject": "P001", "roles": ["staff"]}})
	data.woms.planning.authz.allow with input as inp
}

test_system_feeds_only_its_source if {
	sys := {"tenant": "hanoi", "subject": "system:disbursement", "roles": ["system"]}
	data.woms.planning.authz.allow with input as {"tenant": "hanoi", "principal": sys, "action": "progress.ingest", "resource": {"system": "disbursement"}}
	not data.woms.planning.authz.allow with input as {"tenant": "hanoi", "principal": sys, "action": "progress.ingest", "resource": {"system": "dvc"}}
}

test_role_grants_read_by_services_and_admins_only if {
	svc := {"tenant": "hanoi", "subject": "system:tasks", "roles": ["service"]}
	admin := {"tenant": "hanoi", "subject": "admin", "roles": ["staff", "tenant_admin"]}
	data.woms.planning.authz.allow with input as object.union(base, {"action": "role.read", "principal": svc})
	data.woms.planning.authz.allow with input as object.union(base, {"action": "role.read", "principal": admin})
	not data.woms.planning.authz.allow with input as object.union(base, {"action": "role.read"})
	not data.woms.planning.authz.allow with input as object.union(base, {"action": "role.read", "principal": object.union(svc, {"tenant": "thanhhoa"})})
	"chỉ dịch vụ hoặc quản trị / services and tenant administrators only" in data.woms.planning.authz.reasons with input as object.union(base, {"action": "role.read"})
}
