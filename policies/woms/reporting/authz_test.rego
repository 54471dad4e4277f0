package woms.reporting.authz_test

import rego.v1

# Unit U headed by H, under the ward W headed by B: H's superiors are [B]; S works in U.
who(subject, roles) := {"tenant": "hanoi", "subject": subject, "roles": roles}

ask_as(p, action, res) := {"tenant": "hanoi", "action": action, "principal": p, "resource": res}

person_res := {"person": "S", "unit": "U", "person_readers": ["H", "B"]}

unit_res := {"unit": "U", "unit_readers": ["H", "B"]}

allowed(inp) if data.woms.reporting.authz.allow with input as inp

why(inp) := r if {
	r := data.woms.reporting.authz.reasons with input as inp
}

# --- a person's card and profile --------------------------------------------------------------

test_person_reads_own_card if {
	inp := ask_as(who("S", ["staff"]), "reporting.person", person_res)
	allowed(inp)
	count(why(inp)) == 0
}

test_superiors_read_a_persons_card if {
	allowed(ask_as(who("H", ["staff"]), "reporting.person", person_res))
	allowed(ask_as(who("B", ["staff"]), "reporting.person", person_res))
}

test_admin_and_central_of_the_tenant_read_a_card if {
	allowed(ask_as(who("Z", ["tenant_admin"]), "reporting.person", person_res))
	allowed(ask_as(who("Z", ["central"]), "reporting.person", person_res))
}

test_colleague_cannot_read_a_card if {
	inp := ask_as(who("D", ["staff"]), "reporting.person", person_res)
	not allowed(inp)
	why(inp) == {"chỉ người này, cấp trên của họ, quản trị hoặc cơ quan trung tâm / only the person, their superiors, an administrator or a central body"}
}

test_nobody_of_another_tenant_reads if {
	platform := {"tenant": "platform", "subject": "C", "roles": ["central", "tenant_admin"]}
	inp := ask_as(platform, "reporting.person", person_res)
	not allowed(inp)
	"khác đơn vị thuê bao / another tenant" in why(inp)
	not allowed(ask_as({"tenant": "other", "subject": "S", "roles": ["staff"]}, "reporting.person", person_res))
	not allowed(ask_as({"tenant": "other", "subject": "H", "roles": ["staff"]}, "reporting.person", person_res))
	not allowed(ask_as({"tenant": "other", "subject": "H", "roles": ["staff"]}, "reporting.unit", unit_res))
	not allowed(ask_as({"tenant": "other", "subject": "H", "roles": ["staff"]}, "reporting.allocate", unit_res))
	not allowed(ask_as({"tenant": "other", "subject": "Z", "roles": ["tenant_admin"]}, "reporting.allocate", unit_res))
}

# --- a unit's figures and allocation ----------------------------------------------------------

test_head_and_superiors_read_the_unit if {
	allowed(ask_as(who("H", ["staff"]), "reporting.unit", unit_res))
	allowed(ask_as(who("B", ["staff"]), "reporting.unit", unit_res))
	allowed(ask_as(who("Z", ["tenant_admin"]), "reporting.unit", unit_res))
	allowed(ask_as(who("Z", ["central"]), "reporting.unit", unit_res))
}

test_staff_cannot_read_the_unit if {
	inp := ask_as(who("S", ["staff"]), "reporting.unit", unit_res)
	not allowed(inp)
	why(inp) == {"chỉ người đứng đầu đơn vị, cấp trên, quản trị hoặc cơ quan trung tâm / only the unit head, superiors, an administrator or a central body"}
}

test_head_superiors_and_admin_allocate if {
	allowed(ask_as(who("H", ["staff"]), "reporting.allocate", unit_res))
	allowed(ask_as(who("B", ["staff"]), "reporting.allocate", unit_res))
	allowed(ask_as(who("Z", ["tenant_admin"]), "reporting.allocate", unit_res))
}

test_central_and_staff_do_not_allocate if {
	inp := ask_as(who("Z", ["central"]), "reporting.allocate", unit_res)
	not allowed(inp)
	why(inp) == {"chỉ người đứng đầu đơn vị, cấp trên hoặc quản trị / only the unit head, superiors or an administrator"}
	not allowed(ask_as(who("S", ["staff"]), "reporting.allocate", unit_res))
}

# --- the whole tenant -------------------------------------------------------------------------

test_admin_and_central_read_the_tenant if {
	allowed(ask_as(who("Z", ["tenant_admin"]), "reporting.tenant", {}))
	allowed(ask_as(who("Z", ["central"]), "reporting.tenant", {}))
}

test_unit_head_cannot_read_the_tenant if {
	inp := ask_as(who("H", ["staff"]), "reporting.tenant", unit_res)
	not allowed(inp)
	why(inp) == {"chỉ quản trị hoặc cơ quan trung tâm / only an administrator or a central body"}
}

# --- central bodies across tenants ------------------------------------------------------------

central_ask(p, tenants) := {
	"tenant": p.tenant, "action": "reporting.central", "principal": p,
	"resource": {"tenants": tenants},
}

test_platform_central_reads_every_tenant if {
	p := {"tenant": "platform", "subject": "C", "roles": ["central"]}
	inp := central_ask(p, ["hanoi", "thanhhoa"])
	allowed(inp)
	count(why(inp)) == 0
}

test_tenant_central_reads_its_own_tenant_only if {
	allowed(central_ask(who("C", ["central"]), ["hanoi"]))
	inp := central_ask(who("C", ["central"]), ["hanoi", "thanhhoa"])
	not allowed(inp)
	why(inp) == {"cơ quan trung tâm của tỉnh chỉ xem tỉnh mình / a tenant's central body covers its own tenant only"}
}

test_central_query_needs_a_tenant if {
	inp := central_ask({"tenant": "platform", "subject": "C", "roles": ["central"]}, [])
	not allowed(inp)
	why(inp) == {"chưa chọn đơn vị thuê bao / no tenant asked"}
}

test_only_central_queries_across_units if {
	inp := central_ask(who("Z", ["tenant_admin"]), ["hanoi"])
	not allowed(inp)
	why(inp) == {"chỉ cơ quan trung tâm / only a central body"}
}

test_unknown_action_is_denied if {
	inp := ask_as(who("Z", ["tenant_admin", "central"]), "reporting.delete", {})
	not allowed(inp)
	why(inp) == {"thao tác không được hỗ trợ / unknown action"}
}
