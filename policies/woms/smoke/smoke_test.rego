# METADATA
# title: Tests of woms.smoke
package woms.smoke_test

import rego.v1

test_owner_is_allowed if data.woms.smoke.allow with input as {"subject": "an", "owner": "an"}

test_other_is_denied if not data.woms.smoke.allow with input as {"subject": "binh", "owner": "an"}

test_other_gets_reason if {
	data.woms.smoke.reasons == {"subject is not the owner"} with input as {"subject": "binh", "owner": "an"}
}

test_missing_subject_gets_reason if {
	"missing subject" in data.woms.smoke.reasons with input as {"owner": "an"}
}
