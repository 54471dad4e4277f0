package woms.lib_test

import rego.v1

person := {"tenant": "t", "action": "x", "principal": {"tenant": "t", "subject": "P1", "roles": ["staff"]}}

test_same_tenant_and_staff if {
	data.woms.lib.same_tenant with input as person
	data.woms.lib.staff with input as person
	not data.woms.lib.is_system with input as person
}

test_other_tenant_is_not_staff if {
	other := object.union(person, {"tenant": "u"})
	not data.woms.lib.same_tenant with input as other
	not data.woms.lib.staff with input as other
	not data.woms.lib.has_role({"staff"}) with input as other
}

test_system_account_is_not_staff if {
	system := object.union(person, {"principal": {"tenant": "t", "subject": "system:cycle", "roles": ["service"]}})
	data.woms.lib.is_system with input as system
	not data.woms.lib.staff with input as system
	data.woms.lib.has_role({"service", "system"}) with input as system
}

test_has_role if {
	data.woms.lib.has_role({"staff", "central"}) with input as person
	not data.woms.lib.has_role({"tenant_admin"}) with input as person
}

test_acts_for_its_body_only if {
	body := object.union(person, {"principal": {"tenant": "t", "subject": "BTV", "roles": ["staff", "external_body"], "body": "Ban Thường vụ"}})
	data.woms.lib.acts_for("Ban Thường vụ") with input as body
	not data.woms.lib.acts_for("Thường trực") with input as body
	not data.woms.lib.acts_for("Ban Thường vụ") with input as object.union(person, {"principal": {"tenant": "t", "subject": "P1", "roles": ["staff"], "body": "Ban Thường vụ"}})
}

test_defaults_without_resource_or_relation if {
	data.woms.lib.resource == {} with input as person
	data.woms.lib.relation == {} with input as person
	data.woms.lib.subject == "P1" with input as person
}
