"""``python -m lessonlib``: the workbook's command line (``lessonlib.cli``)."""

import sys

# nbformat validates notebooks with jsonschema, which imports rfc3987_syntax for its "iri"
# formats when it is installed (jupyter-events' jsonschema[format-nongpl] installs it). That
# import builds some 35 Earley parsers: 1 to 2 s of every command's start here, for
# formats no notebook schema uses (python-jsonschema/jsonschema#1428). This process, and
# only this one, does without it: jsonschema then checks every other format as before.
sys.modules.setdefault("rfc3987_syntax", None)

from .cli import main  # noqa: E402  (after the line above, which must precede nbformat)

raise SystemExit(main())
