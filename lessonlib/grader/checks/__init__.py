"""The check of every exercise, one module per notebook, named as its lesson module
(``03_batch_norm.ipynb`` -> ``checks.batch_norm``). A notebook's check cell calls
``check_<function>(<function>)`` from its own module; the exercises' ids and points come
from ``grader.exercises``."""
