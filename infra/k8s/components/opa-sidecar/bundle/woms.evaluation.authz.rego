# METADATA
# title: Monthly evaluation access
# description: >-
#   Who may act on a person's monthly evaluation, on a unit's month and on the tenant's cycle
#   (001 §II.3, §IV.1; DOMAIN.md §6–§7: "whoever directly leads and assigns the work
#   evaluates; the head decides; nobody evaluates or approves themselves"). The input is built
#   by services.common.authorizer.Authorizer (schema: input.schema.json next to this file):
#   {"tenant", "action", "principal": {"tenant", "subject", "roles": [..], "body"?},
#   "resource", "relation"?}. The resource (services/evaluation/access.py) is a person's
#   month {"person", "unit", "period"}, a unit's month {"unit", "period", "publication"?} or the
#   tenant's month {"period"}. "relation" is the tenant's evaluator relation for the period,
#   services.planning.evaluators.as_policy_data(edges) (evaluator_of, evaluatees_of,
#   unit_heads, unit_members, external, decider_of, decider_external, unresolved, acting_for);
#   it travels in the input because loading per-tenant data into regorus is awkward.
#   Rules: no cross-tenant access (data.woms.lib.same_tenant); evaluation.self_assess and
#   evaluation.appeal only by the person, who must be in the relation; evaluation.review only
#   by one of relation.evaluator_of[person]; evaluation.decide only by
#   relation.decider_of[person]; neither ever by the person. People evaluated outside the
#   tenant (relation.external, e.g. the ward's Bí thư, Phó Bí thư thường trực, Chủ tịch UBND)
#   are reviewed by a principal with role "external_body" acting for relation.external[person]
#   and decided by one acting for relation.decider_external[person] (data.woms.lib.acts_for).
#   evaluation.publish (a unit's results): the unit's head or role tenant_admin.
#   evaluation.answer_appeal: the level above the decider (one of relation.evaluator_of[decider]
#   or the body relation.external[decider]); when the decider is itself an external body that
#   body records the answer; never the person and never a decider who is a person.
#   evaluation.read: the person, their evaluators and deciders (persons or external bodies),
#   the appeal authority, roles tenant_admin and central (inside the tenant only).
#   evaluation.unit_list (001 §IV.1 step 5 "công khai trong đơn vị"): the unit's list of names,
#   scores and grades, once published (resource.publication == "published"), to its members
#   (relation.unit_members[unit]), its head, roles tenant_admin and central; a form's details
#   stay under evaluation.read. cycle.start (the tenant's month on Temporal): role
#   tenant_admin; cycle.read (its progress): tenant_admin or central. Every deny gives at least
#   one reason (Vietnamese / English), an allow none.
# related_resources:
#   - description: DOMAIN.md §6–§7, 001 §II.3, §IV.1
package woms.evaluation.authz

import rego.v1

default allow := false

actions := {
	"evaluation.self_assess", "evaluation.review", "evaluation.decide", "evaluation.publish",
	"evaluation.appeal", "evaluation.read", "evaluation.answer_appeal", "evaluation.unit_list",
	"evaluation.quota",
	"cycle.start", "cycle.read",
}

relation := data.woms.lib.relation

person := object.get(data.woms.lib.resource, "person", null)

unit := object.get(data.woms.lib.resource, "unit", null)

subject := data.woms.lib.subject

is_person if subject == person

# the person has a current membership in the period's relation
known if person in object.keys(object.get(relation, "evaluator_of", {}))

evaluators := object.get(object.get(relation, "evaluator_of", {}), person, [])

decider := object.get(object.get(relation, "decider_of", {}), person, null)

is_reviewer if subject in evaluators

is_reviewer if data.woms.lib.acts_for(relation.external[person])

is_decider_person if {
	decider != null
	subject == decider
}

is_decider if is_decider_person

is_decider if data.woms.lib.acts_for(relation.decider_external[person])

# the level above the decider answers appeals against the grade
is_appeal_authority if subject in object.get(relation.evaluator_of, decider, [])

is_appeal_authority if data.woms.lib.acts_for(relation.external[decider])

is_appeal_authority if data.woms.lib.acts_for(relation.decider_external[person])

is_publisher if subject == relation.unit_heads[unit]

is_publisher if data.woms.lib.has_role({"tenant_admin"})

is_reader if is_person

is_reader if is_reviewer

is_reader if is_decider

is_reader if is_appeal_authority

is_reader if data.woms.lib.has_role({"tenant_admin", "central"})

# the unit's list of grades: its members, its head, administrators and central bodies
is_list_reader if subject in object.get(object.get(relation, "unit_members", {}), unit, [])

is_list_reader if is_publisher

# the head and everyone above the head answer for the unit's results (001 §II.3, §VI)
is_list_reader if subject in object.get(data.woms.lib.resource, "unit_readers", [])

# the excellence quota moves grades: the unit's head, who decides its members' grades
# (001 §II.3, §II.2.5); not a tenant administrator (000 §IX.2: accounts and rights)
is_quota_authority if subject == relation.unit_heads[unit]

is_list_reader if data.woms.lib.has_role({"central"})

published if object.get(data.woms.lib.resource, "publication", null) == "published"

allow if {
	data.woms.lib.same_tenant
	input.action in {"evaluation.self_assess", "evaluation.appeal"}
	is_person
	known
}

allow if {
	data.woms.lib.same_tenant
	input.action == "evaluation.review"
	is_reviewer
	not is_person
}

allow if {
	data.woms.lib.same_tenant
	input.action == "evaluation.decide"
	is_decider
	not is_person
}

allow if {
	data.woms.lib.same_tenant
	input.action == "evaluation.publish"
	is_publisher
}

allow if {
	data.woms.lib.same_tenant
	input.action == "evaluation.answer_appeal"
	is_appeal_authority
	not is_person
	not is_decider_person
}

allow if {
	data.woms.lib.same_tenant
	input.action == "evaluation.read"
	is_reader
}

allow if {
	data.woms.lib.same_tenant
	input.action == "evaluation.quota"
	is_quota_authority
}

allow if {
	data.woms.lib.same_tenant
	input.action == "evaluation.unit_list"
	is_list_reader
	published
}

allow if {
	input.action == "cycle.start"
	data.woms.lib.has_role({"tenant_admin"})
}

allow if {
	input.action == "cycle.read"
	data.woms.lib.has_role({"tenant_admin", "central"})
}

reasons contains "khác đơn vị thuê bao / another tenant" if not data.woms.lib.same_tenant

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

reasons contains "chỉ người đứng đầu đơn vị quyết định tỷ lệ xuất sắc / only the unit's head applies the excellence quota" if {
	input.action == "evaluation.quota"
	not is_quota_authority
}

reasons contains "chỉ thành viên đơn vị và lãnh đạo quản lý được xem danh sách kết quả / only the unit's members and the leaders over it see its list of results" if {
	input.action == "evaluation.unit_list"
	not is_list_reader
}

reasons contains "kết quả của đơn vị chưa công bố / the unit's results are not published yet" if {
	input.action == "evaluation.unit_list"
	not published
}

reasons contains "chỉ quản trị đơn vị thuê bao / only a tenant administrator" if {
	input.action == "cycle.start"
	not data.woms.lib.has_role({"tenant_admin"})
}

reasons contains "chỉ quản trị hoặc cơ quan trung ương / only a tenant administrator or a central body" if {
	input.action == "cycle.read"
	not data.woms.lib.has_role({"tenant_admin", "central"})
}
