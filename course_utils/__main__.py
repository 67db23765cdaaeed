"""``python -m course_utils doctor | prepare | student | launch``: see :mod:`course_utils.admin.cli`."""
import sys

from course_utils.admin.cli import main

if __name__ == "__main__":
    sys.exit(main())
