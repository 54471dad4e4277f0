# METADATA
# title: WOMS smoke policy
# description: >-
#   Proves that policies load and evaluate in-process (regorus).
#   A subject may act on a resource only when it owns it.
# authors:
#   - WOMS
# scope: package
package woms.smoke

import rego.v1

# METADATA
# title: Allow the owner
# description: True when input.subject equals input.owner; false otherwise.
default allow := false

allow if input.subject == input.owner

# METADATA
# title: Reasons for a denial
# description: Set of human-readable strings; empty when allowed.
reasons contains "subject is not the owner" if input.subject != input.owner

reasons contains "missing subject" if not input.subject
