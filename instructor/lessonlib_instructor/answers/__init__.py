"""The reference answers of the exercises whose answer the lecture does not write out (a
backward pass, a Jacobian, a probability, a rule, a stable cost), one module per lecture.

The trusted grader, ``release`` (which records the checks' expected outputs for the cases a
notebook shows) and the tests reach them by name through
``lessonlib.grader.instructor.reference_namespace``; nothing a learner's kernel imports
does. The forward passes the lecture states (batch norm, softmax, the running averages,
the samplers) are their own references: lessonlib keeps them as labelled stand-ins.
"""

from .batch_norm import (
    batchnorm_backward,
    batchnorm_backward_graph,
    batchnorm_backward_slips,
    linear_bn_backward,
    linear_bn_backward_slips,
    recover_gamma_beta,
)
from .batch_norm_test_time import (
    fold_batchnorm,
    fold_batchnorm_slips,
    layernorm_backward,
    layernorm_backward_slips,
)
from .putting_it_together import make_search_space
from .softmax_regression import (
    cross_entropy_from_logits,
    log_softmax,
    softmax_backward,
    softmax_cross_entropy,
    softmax_jacobian,
    softmax_jacobian_slips,
)
from .tuning_process import chance_at_least_one, shrink_box

__all__ = ["batchnorm_backward", "batchnorm_backward_graph", "batchnorm_backward_slips",
           "chance_at_least_one", "cross_entropy_from_logits", "fold_batchnorm",
           "fold_batchnorm_slips", "layernorm_backward", "layernorm_backward_slips",
           "linear_bn_backward", "linear_bn_backward_slips", "log_softmax",
           "make_search_space", "recover_gamma_beta", "shrink_box", "softmax_backward",
           "softmax_cross_entropy", "softmax_jacobian", "softmax_jacobian_slips"]
