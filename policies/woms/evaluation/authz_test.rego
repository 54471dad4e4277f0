package woms.evaluation.authz_test

import rego.v1

# A small chart: ward W headed by B (evaluated and graded by the external body "BTV"); unit U
# under W headed by H (evaluated by B) with deputy D and staff S; X graded by the external body
# "TT" (an override); Q has no evaluator (unresolved).
relation := {
	"evaluator_of": {"B": [], "H": ["B"], "D": ["H"], "S": ["H"], "X": [], "Q": []},
	"evaluatees_of": {"B": ["H"], "H": ["D", "S"]},
	"unit_heads": {"W": "B", "U": "H"},
	"unit_members": {"W": ["B"], "U": ["H", "D", "S"]},
	"external": {"B": "BTV", "X": "TT"},
	"decider_of": {"H": "B", "D": "H", "S": "H"},
	"decider_external": {"B": "BTV", "X": "TT"},
	"unresolved": ["Q"],
}

who(subject) := {"tenant": "hanoi", "subject": subject, "roles": ["staff"]}

body(name) := {"tenant": "hanoi", "subject": concat("", ["ext:", name]), "roles": ["external_body"], "body": name}

role(subject, r) := {"tenant": "hanoi", "subject": subject, "roles": [r]}

ask_as(p, action, person) := {
	"tenant": "hanoi", "action": action, "principal": p,
	"resource": {"person": person, "unit": "U", "period": "2026-06"}, "relation": relation,
}

ask(subject, action, person) := ask_as(who(subject), action, person)

with_relation(inp, patch) := object.union(inp, {"relation": object.union(relation, patch)})

allowed(inp) if data.woms.evaluation.authz.allow with input as inp

why(inp) := r if {
	r := data.woms.evaluation.authz.reasons with input as inp
}

# --- self-assessment and appeal: the person only ------------------------------------------

test_person_self_assesses_and_appeals if {
	allowed(ask("S", "evaluation.self_assess", "S"))
	allowed(ask("S", "evaluation.appeal", "S"))
	count(why(ask("S", "evaluation.self_assess", "S"))) == 0
}

test_nobody_self_assesses_or_appeals_for_another if {
	inp := ask("H", "evaluation.self_assess", "S")
	not allowed(inp)
	why(inp) == {"chỉ chính người được đánh giá / only the person themselves"}
	not allowed(ask("H", "evaluation.appeal", "S"))
}

test_person_outside_the_chart_cannot_self_assess if {
	inp := ask("Z", "evaluation.self_assess", "Z")
	not allowed(inp)
	why(inp) == {"không có trong sơ đồ tổ chức của kỳ / not in the org chart for the period"}
	not allowed(object.remove(ask("S", "evaluation.appeal", "S"), ["relation"]))
}

# --- review: the evaluators, never the person ---------------------------------------------

test_evaluator_reviews if {
	allowed(ask("H", "evaluation.review", "S"))
	allowed(ask("B", "evaluation.review", "H"))
}

test_non_evaluator_cannot_review if {
	inp := ask("B", "evaluation.review", "S")
	not allowed(inp)
	why(inp) == {"chỉ người đánh giá của người này / only the person's evaluator"}
	not allowed(ask("D", "evaluation.review", "S"))
}

test_nobody_reviews_themselves if {
	inp := with_relation(ask("S", "evaluation.review", "S"), {"evaluator_of": {"S": ["S"]}})
	not allowed(inp)
	why(inp) == {"không ai tự đánh giá mình / nobody reviews themselves"}
	"chỉ người đánh giá của người này / only the person's evaluator" in why(ask("S", "evaluation.review", "S"))
}

test_external_body_reviews_externally_evaluated if {
	allowed(ask_as(body("BTV"), "evaluation.review", "B"))
	not allowed(ask_as(body("TT"), "evaluation.review", "B"))
	not allowed(ask_as(body("BTV"), "evaluation.review", "S"))
	# the attribute alone is not enough: the role external_body is required
	not allowed(ask_as(object.union(who("H"), {"body": "BTV"}), "evaluation.review", "B"))
	not allowed(ask("H", "evaluation.review", "B"))
}

# --- decide: the decider, never the person ------------------------------------------------

test_decider_decides if {
	allowed(ask("H", "evaluation.decide", "S"))
	allowed(ask("B", "evaluation.decide", "H"))
	allowed(ask_as(body("BTV"), "evaluation.decide", "B"))
	allowed(ask_as(body("TT"), "evaluation.decide", "X"))
}

test_non_decider_cannot_decide if {
	inp := ask("B", "evaluation.decide", "S")
	not allowed(inp)
	why(inp) == {"chỉ cấp có thẩm quyền xếp loại / only the deciding authority"}
	not allowed(ask_as(body("BTV"), "evaluation.decide", "X"))
	not allowed(ask("D", "evaluation.decide", "D"))
}

test_nobody_decides_for_themselves if {
	inp := with_relation(ask("S", "evaluation.decide", "S"), {"decider_of": {"S": "S"}})
	not allowed(inp)
	why(inp) == {"không ai tự xếp loại mình / nobody decides their own grade"}
}

test_unresolved_person_is_reported if {
	reason := "chưa xác định người đánh giá, cần khai báo evaluator_overrides / evaluator unresolved, an override is needed"
	reason in why(ask("H", "evaluation.review", "Q"))
	reason in why(ask("H", "evaluation.decide", "Q"))
	not allowed(ask("H", "evaluation.decide", "Q"))
	not reason in why(ask("H", "evaluation.review", "S"))
}

# --- publish: the unit head or a tenant administrator -------------------------------------

test_unit_head_or_admin_publishes if {
	allowed(ask("H", "evaluation.publish", null))
	allowed(ask_as(role("A", "tenant_admin"), "evaluation.publish", null))
}

test_others_cannot_publish if {
	inp := ask("S", "evaluation.publish", null)
	not allowed(inp)
	why(inp) == {"chỉ người đứng đầu đơn vị hoặc quản trị / only the unit head or a tenant administrator"}
	not allowed(ask("B", "evaluation.publish", null)) # head of W, not of U
	not allowed(ask_as(role("C", "central"), "evaluation.publish", null))
}

# --- answer_appeal: the level above the decider -------------------------------------------

test_decider_superior_answers_appeal if {
	allowed(ask("B", "evaluation.answer_appeal", "S")) # S decided by H, H evaluated by B
	allowed(ask_as(body("BTV"), "evaluation.answer_appeal", "H")) # H decided by B, B by BTV
	allowed(ask_as(body("BTV"), "evaluation.answer_appeal", "B")) # decided by BTV itself
	allowed(ask_as(body("TT"), "evaluation.answer_appeal", "X"))
}

test_decider_does_not_answer_appeal_against_own_decision if {
	inp := with_relation(ask("H", "evaluation.answer_appeal", "S"), {"evaluator_of": {"H": ["H"]}})
	not allowed(inp)
	why(inp) == {"người xếp loại không tự xem xét kiến nghị về quyết định của mình / the decider does not answer an appeal against their own decision"}
}

test_nobody_answers_own_appeal if {
	inp := with_relation(ask("S", "evaluation.answer_appeal", "S"), {"evaluator_of": {"H": ["S"]}})
	not allowed(inp)
	why(inp) == {"không tự trả lời kiến nghị của mình / nobody answers their own appeal"}
}

test_others_cannot_answer_appeal if {
	inp := ask("D", "evaluation.answer_appeal", "S")
	not allowed(inp)
	why(inp) == {"chỉ cấp trên của người xếp loại / only the decider's superior"}
	not allowed(ask_as(body("TT"), "evaluation.answer_appeal", "H"))
}

# --- read ---------------------------------------------------------------------------------

test_person_evaluators_decider_and_superiors_read if {
	allowed(ask("S", "evaluation.read", "S"))
	allowed(ask("H", "evaluation.read", "S"))
	allowed(ask("B", "evaluation.read", "S"))
	allowed(ask("B", "evaluation.read", "H"))
	allowed(ask_as(body("BTV"), "evaluation.read", "B"))
	allowed(ask_as(body("BTV"), "evaluation.read", "H"))
	allowed(ask_as(role("A", "tenant_admin"), "evaluation.read", "S"))
	allowed(ask_as(role("C", "central"), "evaluation.read", "S"))
}

test_decider_who_is_not_evaluator_reads if {
	inp := with_relation(ask("K", "evaluation.read", "D"), {"decider_of": {"D": "K"}})
	allowed(inp)
}

test_others_cannot_read if {
	inp := ask("D", "evaluation.read", "S")
	not allowed(inp)
	why(inp) == {"không có quyền xem kết quả đánh giá này / not allowed to read this evaluation"}
	not allowed(ask("S", "evaluation.read", "H"))
	not allowed(ask_as(body("TT"), "evaluation.read", "S"))
}

# --- tenant and action --------------------------------------------------------------------

test_other_tenant_is_denied_everything if {
	every action in data.woms.evaluation.authz.actions {
		inp := object.union(ask("H", action, "S"), {"tenant": "thanhhoa"})
		not allowed(inp)
		"khác đơn vị thuê bao / another tenant" in why(inp)
	}
	not allowed(object.union(ask_as(role("C", "central"), "evaluation.read", "S"), {"tenant": "thanhhoa"}))
}

test_unknown_action_is_denied if {
	inp := ask("H", "evaluation.delete", "S")
	not allowed(inp)
	why(inp) == {"thao tác không được hỗ trợ / unknown action"}
}

# --- unit_list: the unit's list of grades, once published (001 §IV.1 step 5) -------------

unit_list_as(p, published) := {
	"tenant": "hanoi", "action": "evaluation.unit_list", "principal": p,
	"resource": {"unit": "U", "period": "2026-06", "publication": publication(published), "unit_readers": ["H", "B"]},
	"relation": relation,
}

publication(true) := "published"

publication(false) := "pending"

test_members_head_admin_and_central_see_the_published_list if {
	allowed(unit_list_as(who("S"), true))
	allowed(unit_list_as(who("D"), true))
	allowed(unit_list_as(who("H"), true))
	allowed(unit_list_as(role("A", "tenant_admin"), true))
	allowed(unit_list_as(role("C", "central"), true))
	count(why(unit_list_as(who("S"), true))) == 0
}

test_the_leaders_above_the_head_see_the_published_list if {
	allowed(unit_list_as(who("B"), true)) # head of W, evaluates U's head H (001 §II.3, §VI)
	not_a_reader := object.union(unit_list_as(who("B"), true), {"resource": {"unit_readers": ["H"]}})
	not allowed(not_a_reader)
}

test_others_do_not_see_the_list if {
	inp := unit_list_as(who("X"), true) # neither a member of U nor above its head
	not allowed(inp)
	why(inp) == {"chỉ thành viên đơn vị và lãnh đạo quản lý được xem danh sách kết quả / only the unit's members and the leaders over it see its list of results"}
	not allowed(unit_list_as(body("BTV"), true))
	not allowed(object.union(unit_list_as(who("S"), true), {"tenant": "thanhhoa"}))
}

test_nobody_sees_the_list_before_publication if {
	inp := unit_list_as(who("S"), false)
	not allowed(inp)
	why(inp) == {"kết quả của đơn vị chưa công bố / the unit's results are not published yet"}
	not allowed(unit_list_as(role("A", "tenant_admin"), false))
	no_flag := object.remove(unit_list_as(who("H"), true), ["resource"])
	not allowed(object.union(no_flag, {"resource": {"unit": "U", "period": "2026-06"}}))
}

# --- quota: the unit's head, not an administrator (001 §II.3, §II.2.5; 000 §IX.2) ----------

quota_as(p) := {
	"tenant": "hanoi", "action": "evaluation.quota", "principal": p,
	"resource": {"unit": "U", "period": "2026-06"}, "relation": relation,
}

test_the_unit_head_applies_the_quota if {
	allowed(quota_as(who("H")))
	count(why(quota_as(who("H")))) == 0
}

test_nobody_else_applies_the_quota if {
	inp := quota_as(role("A", "tenant_admin"))
	not allowed(inp)
	why(inp) == {"chỉ người đứng đầu đơn vị quyết định tỷ lệ xuất sắc / only the unit's head applies the excellence quota"}
	not allowed(quota_as(who("S")))
	not allowed(quota_as(who("D")))
	not allowed(quota_as(who("B"))) # head of W: U's head decides U's members
	not allowed(object.union(quota_as(who("H")), {"tenant": "thanhhoa"}))
}

# --- the tenant's cycle: start by an administrator, progress also by central bodies ------

cycle_as(p, action) := {
	"tenant": "hanoi", "action": action, "principal": p, "resource": {"period": "2026-06"},
}

test_admin_starts_and_reads_the_cycle if {
	allowed(cycle_as(role("A", "tenant_admin"), "cycle.start"))
	allowed(cycle_as(role("A", "tenant_admin"), "cycle.read"))
	allowed(cycle_as(role("C", "central"), "cycle.read"))
	count(why(cycle_as(role("C", "central"), "cycle.read"))) == 0
}

test_staff_and_central_cannot_start_the_cycle if {
	inp := cycle_as(who("H"), "cycle.start")
	not allowed(inp)
	why(inp) == {"chỉ quản trị đơn vị thuê bao / only a tenant administrator"}
	not allowed(cycle_as(role("C", "central"), "cycle.start"))
	not allowed(object.union(cycle_as(role("A", "tenant_admin"), "cycle.start"), {"tenant": "thanhhoa"}))
}

test_staff_cannot_read_the_cycle if {
	inp := cycle_as(who("H"), "cycle.read")
	not allowed(inp)
	why(inp) == {"chỉ quản trị hoặc cơ quan trung ương / only a tenant administrator or a central body"}
	not allowed(cycle_as(body("BTV"), "cycle.read"))
}
