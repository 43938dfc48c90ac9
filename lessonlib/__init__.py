"""lessonlib: helpers, reference implementations and the grader of the week-3 workbook.

Modules, one per topic (the notebook that introduces each is in its docstring):

- ``lessonlib.data``      the UCI digits (course shapes, fixed splits) and synthetic 2-D sets
- ``lessonlib.tuning``    grid versus random search, coarse to fine, parallel trials (01)
- ``lessonlib.scales``    sampling on the right scale: log-uniform, the 1 - beta scale (02)
- ``lessonlib.batchnorm`` batch norm forward and backward, and why it helps (03, 04)
- ``lessonlib.gradcheck`` centred-difference numerical gradients (03)
- ``lessonlib.softmax``   softmax, one-hot labels and the cross-entropy cost (05)
- ``lessonlib.nn``        a small fully connected network trained with mini-batches
- ``lessonlib.grading``   the check framework behind every check cell
- ``lessonlib.checks``    the check for each exercise, one module per notebook
- ``lessonlib.notebooks`` ``release`` (learner notebooks from solved ones) and ``grade``
- ``lessonlib.bench``     speed figures against PyTorch

The command line is ``python -m lessonlib {release,grade,progress,bench,refresh}``.
"""

from ._memory import tune_allocator

__version__ = "0.1.0"

# glibc: keep freed memory for reuse instead of page-faulting every large temporary array
# (see lessonlib._memory; LESSONLIB_KEEP_MALLOC=1 turns this off)
ALLOCATOR_TUNED = tune_allocator()
