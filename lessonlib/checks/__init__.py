"""The check for every exercise, one module per notebook topic.

A notebook's check cell calls ``check_<function>(<function>)``. Importing this package
imports every module in it, which registers each exercise in
``lessonlib.grading.EXERCISES`` and makes every ``check_*`` available from here.
"""

import importlib
import pkgutil

__all__ = []
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in dir(_module):
        if _name.startswith("check_"):
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)
