"""The verdict on each of the spec's 23 issues (spec §4): severity, verdict, what pins it.

FINDINGS.md's table says the same in prose; ``tests/proofs/test_issues.py`` checks that the two
list the same ids and verdict words.
"""

VERDICTS = {}
