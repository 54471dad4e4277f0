"""Goal trees (objectives and key results) and their progress — pure rules, no I/O.

Shared by planning (which owns the plans) and reporting (which answers from read models of
them), so both compute the same figures: :mod:`.okr` (the specs), :mod:`.progress` (a key
result's progress, achievement, the traffic light), :mod:`.rollup` (roll-up over the tree).
"""
