"""lessonlib: helpers, reference implementations and the grader of the week-3 workbook.

The package is built in floors; each imports only the floors below it (``import-linter``
enforces it, see ``pyproject.toml``):

- ``core``      validation, the data sets, gradient checking, BLAS threads, progress bars
- ``layers``    batch norm, softmax and cross-entropy, activations, and every gradient by
  automatic differentiation of their forward passes (``autodiff``, with autograd)
- ``network``, ``optim``  the fully connected network and its optimizers
- ``search``    samplers on each scale, search spaces, random and coarse-to-fine search,
  parallel trials
- ``lessons``   one module per notebook: its experiments, ``plot_*`` and widgets; a lesson
  never imports another lesson
- ``grader``    the check framework, the exercise table, one checks module per notebook,
  ``release`` and ``grade``
- ``cli``, ``bench``  ``python -m lessonlib {release,grade,progress,bench,refresh}``

A lecture has one name everywhere: ``notebooks/03_batch_norm.ipynb``,
``lessonlib/lessons/batch_norm.py``, ``lessonlib/grader/checks/batch_norm.py`` and
``tests/lessons/test_batch_norm.py``, ``tests/grader/checks/test_batch_norm.py``. A change
to one lecture goes into those files; the floors below are shared by every lecture.
Importing ``lessonlib`` has no side effects.
"""

__version__ = "0.1.0"
