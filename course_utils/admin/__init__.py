"""Instructor tools: the doctor, the cache archive, student releases and nbgrader assignments, the
process launcher, the CLI.

Learners never import these; ``python -m course_utils ...`` (:mod:`course_utils.admin.cli`) does.
"""
