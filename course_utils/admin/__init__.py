"""Tools for instructors: student releases and nbgrader assignments (not used by the notebooks)."""
