# METADATA
# title: Monthly evaluation access
# description: >-
#   Who may act on a person's monthly evaluation (001 §II.3, DOMAIN.md §7: "whoever directly
#   leads and assigns the work evaluates; the head decides; nobody evaluates or approves
#   themselves"). Input: {"tenant", "action", "principal": {"tenant", "subject", "roles": [..],
#   "body"?}, "resource": {"person": evaluated person code, "unit": unit code, "period":
#   "YYYY-MM"}, "relation": the tenant's evaluator relation for the period, i.e.
#   services.planning.evaluators.as_policy_data(edges) (evaluator_of, evaluatees_of,
#   unit_heads, unit_members, external, decider_of, decider_external, unresolved, and
#   acting_for: which body an external_body account acts for, from planning's role grants; the
#   service copies it into principal.body); it travels in the input because loading
#   per-tenant data into regorus is awkward.
#   Rules: no cross-tenant access; evaluation.self_assess and evaluation.appeal only by the
#   person, who must be in the relation; evaluation.review only by one of
#   relation.evaluator_of[person]; evaluation.decide only by relation.decider_of[person];
#   neither ever by the person. People evaluated outside the tenant (relation.external, e.g.
#   the ward's Bí thư, Phó Bí thư thường trực, Chủ tịch UBND) are reviewed by a principal of
#   the tenant with role "external_body" whose principal.body equals relation.external[person],
#   and decided by one whose body equals relation.decider_external[person].
#   evaluation.publish (a unit's results): the unit's head (relation.unit_heads[resource.unit])
#   or role tenant_admin. evaluation.answer_appeal: the level above the decider, i.e. one of
#   relation.evaluator_of[decider] or the body relation.external[decider]; when the decider
#   is itself an external body (no level above it in WOMS) that body records the answer; never
#   the person and never a decider who is a person. evaluation.read: the person, their evaluators and deciders (persons
#   or external bodies), the appeal authority (superiors one level above the decider), roles
#   tenant_admin and central (central bodies read inside the tenant only: persons' details
#   never leave it, cross-tenant requests are denied). Every deny gives at least one reason
#   (Vietnamese / English).
# related_resources:
#   - description: DOMAIN.md §7, 001 §II.3
package woms.evaluation.authz

import rego.v1

default allow := false

actions := {
	"evaluation.self_assess", "evaluation.review", "evaluation.decide", "evaluation.publish",
	"evaluation.appeal", "evaluation.read", "evaluation.answer_appeal",
}

principal := input.principal

resource := object.get(input, "resource", {})

relation := object.get(input, "relation", {})

person := object.get(resource, "person", null)

subject := object.get(principal, "subject", null)

same_tenant if principal.tenant == input.tenant

is_person if subject == person

# the person has a current membership in the period's relation
known if person in object.keys(object.get(relation, "evaluator_of", {}))

evaluators := object.get(object.get(relation, "evaluator_of", {}), person, [])

decider := object.get(object.get(relation, "decider_of", {}), person, null)

# a principal acting for the external body `body` (e.g. "Ban Thường vụ Thành ủy")
acts_for(body) if {
	"external_body" in principal.roles
	principal.body == body
}

is_reviewer if subject in evaluators

is_reviewer if acts_for(relation.external[person])

is_decider_person if {
	decider != null
	subject == decider
}

is_decider if is_decider_person

is_decider if acts_for(relation.decider_external[person])

# the level above the decider answers appeals against the grade
is_appeal_authority if subject in object.get(relation.evaluator_of, decider, [])

is_appeal_authority if acts_for(relation.external[decider])

is_appeal_authority if acts_for(relation.decider_external[person])

is_publisher if subject == relation.unit_heads[resource.unit]

is_publisher if "tenant_admin" in principal.roles

is_reader if is_person

is_reader if is_reviewer

is_reader if is_decider

is_reader if is_appeal_authority

is_reader if {
	some role in {"tenant_admin", "central"}
	role in principal.roles
}

allow if {
	same_tenant
	input.action in {"evaluation.self_assess", "evaluation.appeal"}
	is_person
	known
}

allow if {
	same_tenant
	input.action == "evaluation.review"
	is_reviewer
	not is_person
}

allow if {
	same_tenant
	input.action == "evaluation.decide"
	is_decider
	not is_person
}

allow if {
	same_tenant
	input.action == "evaluation.publish"
	is_publisher
}

allow if {
	same_tenant
	input.action == "evaluation.answer_appeal"
	is_appeal_authority
	not is_person
	not is_decider_person
}

allow if {
	same_tenant
	input.action == "evaluation.read"
	is_reader
}

reasons contains "khác đơn vị thuê bao / another tenant" if not same_tenant

reasons contains "thao tác không được hỗ trợ / unknown action" if not input.action in actions

reasons contains "chỉ chính người được đánh giá / only the person themselves" if {
	input.action in {"evaluation.self_assess", "evaluation.appeal"}
	not is_person
}

reasons contains "không có trong sơ đồ tổ chức của kỳ / not in the org chart for the period" if {
	input.action in {"evaluation.self_assess", "evaluation.appeal"}
	not known
}

reasons contains "không ai tự đánh giá mình / nobody reviews themselves" if {
	input.action == "evaluation.review"
	is_person
}

reasons contains "chỉ người đánh giá của người này / only the person's evaluator" if {
	input.action == "evaluation.review"
	not is_reviewer
}

reasons contains "không ai tự xếp loại mình / nobody decides their own grade" if {
	input.action == "evaluation.decide"
	is_person
}

reasons contains "chỉ cấp có thẩm quyền xếp loại / only the deciding authority" if {
	input.action == "evaluation.decide"
	not is_decider
}

reasons contains "chưa xác định người đánh giá, cần khai báo evaluator_overrides / evaluator unresolved, an override is needed" if {
	input.action in {"evaluation.review", "evaluation.decide"}
	person in object.get(relation, "unresolved", [])
	not allow
}

reasons contains "chỉ người đứng đầu đơn vị hoặc quản trị / only the unit head or a tenant administrator" if {
	input.action == "evaluation.publish"
	not is_publisher
}

reasons contains "không tự trả lời kiến nghị của mình / nobody answers their own appeal" if {
	input.action == "evaluation.answer_appeal"
	is_person
}

reasons contains "người xếp loại không tự xem xét kiến nghị về quyết định của mình / the decider does not answer an appeal against their own decision" if {
	input.action == "evaluation.answer_appeal"
	is_decider_person
}

reasons contains "chỉ cấp trên của người xếp loại / only the decider's superior" if {
	input.action == "evaluation.answer_appeal"
	not is_appeal_authority
}

reasons contains "không có quyền xem kết quả đánh giá này / not allowed to read this evaluation" if {
	input.action == "evaluation.read"
	not is_reader
}
