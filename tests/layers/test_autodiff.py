"""lessonlib.layers.autodiff, and the stand-ins it computes: gradients by automatic
differentiation of lessonlib's forward passes, against finite differences."""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lessonlib.core.gradcheck import numerical_gradient, relative_error
from lessonlib.grader.session import Session
from lessonlib.layers import autodiff, batchnorm, layernorm, linear_bn, softmax


def _rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ without autograd

def test_lessonlib_computes_forward_passes_and_predictions_without_autograd():
    """The grading sandbox has no autograd: importing lessonlib, every forward pass, a
    network's predictions (with the learner's functions too) and its cost need none; a
    gradient says what is missing."""
    code = textwrap.dedent("""
        import sys
        sys.modules["autograd"] = None            # as if autograd were not installed
        import numpy as np
        import lessonlib, lessonlib.network, lessonlib.lessons.batch_norm
        from lessonlib.layers import (activations, autodiff, batchnorm, layernorm,
                                      linear_bn, softmax)
        from lessonlib.network import Network

        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((4, 6)), np.array([0, 1, 2, 0, 1, 2])
        ones, zeros = np.ones((3, 1)), np.zeros((3, 1))
        batchnorm.batchnorm_forward(X[:3], ones, zeros)
        layernorm.layernorm_forward(X[:3], ones, zeros)
        linear_bn.linear_bn_forward(X, np.ones((3, 4)), ones, zeros, "sigmoid")
        softmax.cross_entropy_of_softmax(X[:3], softmax.one_hot(y % 3, 3))
        theirs = (batchnorm.batchnorm_forward, batchnorm.batchnorm_backward_by_autodiff)
        for kw in ({}, {"batch_norm": True}, {"batch_norm": True, "bn_functions": theirs},
                   {"layer_norm": True, "ln_forward": layernorm.layernorm_forward}):
            net = Network([4, 5, 3], rng=rng, **kw)
            net.forward(X)
            net.predict(X)
            net.accuracy(X, y)
            net.cost(X, y)
            net.bn_layers and net.bn_layers[1].forward(X[:1].repeat(5, axis=0))
        try:
            net.gradients(X, y)
        except ImportError as e:
            print("ImportError:", e)
        print("autograd loaded:", sys.modules["autograd"] is not None)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "ImportError: computing a gradient needs the autograd package" in out
    assert "pip install 'autograd" in out
    assert "autograd loaded: False" in out


# ------------------------------------------------------------------ the machinery

def test_vjp_gives_the_gradients_of_every_argument_and_can_be_called_again():
    A, B = _rng(1).standard_normal((3, 4)), _rng(2).standard_normal((4, 2))
    out, backward = autodiff.vjp(lambda A, B: autodiff.array_namespace(A).tanh(A) @ B, (A, B))
    assert np.array_equal(out, np.tanh(A) @ B)
    G = _rng(3).standard_normal(out.shape)
    dA, dB = backward(G)
    for x, got, k in ((A, dA, 0), (B, dB, 1)):
        def cost(v, k=k):
            args = [A, B]
            args[k] = v
            return float(np.sum(G * (np.tanh(args[0]) @ args[1])))
        assert relative_error(got, numerical_gradient(cost, x.copy())) < 1e-8
    again = backward(2 * G)
    assert np.allclose(again[0], 2 * dA) and np.allclose(again[1], 2 * dB)


def test_vjp_keeps_float32():
    Z = _rng().standard_normal((3, 4)).astype(np.float32)
    out, backward = autodiff.vjp(lambda Z: Z * Z, (Z,))
    (dZ,) = backward(np.ones_like(out))
    assert out.dtype == dZ.dtype == np.float32 and np.allclose(dZ, 2 * Z)


def test_jacobian_has_the_shape_of_output_then_input():
    x = _rng().standard_normal(3)
    J = autodiff.jacobian(lambda x: x[:, None] * x[None, :], x)
    assert J.shape == (3, 3, 3)
    assert np.allclose(J[0, 1], [x[1], x[0], 0.0])


def test_a_traced_forward_pass_computes_with_autograd_numpy_and_keeps_values():
    import autograd.numpy
    seen = {}

    def forward(Z):
        seen["xp"], seen["value"] = autodiff.array_namespace(Z), autodiff.value(Z)
        seen["number"] = autodiff.as_number(Z.sum())
        return seen["xp"].exp(Z)

    Z = _rng().standard_normal((2, 3))
    autodiff.vjp(forward, (Z,))
    assert seen["xp"] is autograd.numpy and isinstance(seen["value"], np.ndarray)
    assert np.array_equal(seen["value"], Z) and not isinstance(seen["number"], float)
    assert autodiff.array_namespace(Z, 1.0) is np and autodiff.value(Z) is Z
    assert autodiff.as_number(np.float32(1.5)) == 1.5


def test_with_backward_runs_forward_on_plain_arrays_and_takes_its_gradients_from_backward():
    calls = []

    def forward(x, scale):
        assert type(x) is np.ndarray                  # autograd's boxes never reach it
        calls.append("forward")
        return scale * x ** 3, {"x": x}

    def backward(dout, cache):
        calls.append("backward")
        return 100 * dout * cache["x"], None           # deliberately not 3 x^2

    op = autodiff.with_backward(forward, backward)
    x = _rng().standard_normal(4)
    out, cache = op(x, 2.0)                           # not traced: forward alone
    assert np.allclose(out, 2 * x ** 3) and cache["x"] is x and calls == ["forward"]
    value, backward_all = autodiff.vjp(lambda x: op(x, 2.0)[0].sum(), (x,))
    (dx,) = backward_all(1.0)
    assert np.allclose(dx, 100 * x) and calls == ["forward", "forward", "backward"]
    assert value == pytest.approx(2 * np.sum(x ** 3))


def test_the_checks_of_lessonlib_let_traced_values_through_and_still_check_them():
    from lessonlib.core.validate import as_float_array
    Z = _rng().standard_normal((2, 3))
    boxes = []

    def forward(Z):
        boxes.append(as_float_array("Z", Z, ndim=2))
        return Z
    autodiff.vjp(forward, (Z,))
    assert boxes[0] is not Z and autodiff.value(boxes[0]) is Z     # the box, let through
    bad = Z.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Z must be finite"):
        autodiff.vjp(forward, (bad,))
    with pytest.raises(ValueError, match="Z must have 2 dimension"):
        autodiff.vjp(forward, (Z[0],))


# ------------------------------------------------------------------ the stand-ins

def _bn_case(dtype=np.float64, n=3, m=7):
    rng = _rng(4)
    Z = (2 * rng.standard_normal((n, m)) + rng.normal(0, 3, (n, 1))).astype(dtype)
    gamma = rng.uniform(0.5, 2, (n, 1)).astype(dtype)
    beta = rng.standard_normal((n, 1)).astype(dtype)
    G = (rng.standard_normal((n, m)) + rng.standard_normal((n, 1))).astype(dtype)
    return Z, gamma, beta, G


def _numerical(forward, args, G):
    """Centred differences of sum(G * forward(*args)) for each argument (float64)."""
    args = [np.array(a, dtype=np.float64) for a in args]
    grads = []
    for k in range(len(args)):
        def cost(v, k=k):
            return float(np.sum(G * forward(*args[:k], v, *args[k + 1:])))
        grads.append(numerical_gradient(cost, args[k].copy()))
    return grads


def test_batch_norm_stand_in_agrees_with_finite_differences():
    Z, gamma, beta, G = _bn_case()
    _, cache = batchnorm.batchnorm_forward(Z, gamma, beta)
    got = batchnorm.batchnorm_backward_by_autodiff(G, cache)
    want = _numerical(lambda Z, g, b: batchnorm.batchnorm_forward(Z, g, b)[0],
                      (Z, gamma, beta), G)
    assert [x.shape for x in got] == [(3, 7), (3, 1), (3, 1)]
    for name, g, w in zip(("dZ", "dgamma", "dbeta"), got, want):
        assert relative_error(g, w) < 1e-7, name


@pytest.mark.parametrize("layer", ["BatchNorm", "LayerNorm"])
@pytest.mark.parametrize("training", [True, False])
def test_the_layers_backward_agrees_with_finite_differences(layer, training):
    Z, gamma, beta, G = _bn_case()
    norm = getattr(batchnorm if layer == "BatchNorm" else layernorm, layer)(3)
    norm.gamma, norm.beta = gamma, beta
    if layer == "BatchNorm":
        norm.running_mean, norm.running_var = Z.mean(axis=1, keepdims=True) + 0.5, 2 * gamma
    norm.train(training)
    _, cache = norm.forward(Z, update=False)
    got = norm.backward(G, cache)

    def forward(Z, g, b):
        return norm.forward(Z, update=False, gamma=g, beta=b)[0]

    for name, g, w in zip(("dZ", "dgamma", "dbeta"), got, _numerical(forward, (Z, gamma, beta),
                                                                     G)):
        assert relative_error(g, w) < 1e-7, name


def test_layer_norm_stand_in_agrees_with_finite_differences():
    Z, gamma, beta, G = _bn_case(n=5, m=4)
    _, cache = layernorm.layernorm_forward(Z, gamma, beta)
    got = layernorm.layernorm_backward_by_autodiff(G, cache)
    want = _numerical(lambda Z, g, b: layernorm.layernorm_forward(Z, g, b)[0],
                      (Z, gamma, beta), G)
    for name, g, w in zip(("dZ", "dgamma", "dbeta"), got, want):
        assert relative_error(g, w) < 1e-7, name


@pytest.mark.parametrize("activation", linear_bn.LAYER_ACTIVATIONS)
def test_linear_bn_stand_in_agrees_with_finite_differences(activation):
    rng = _rng(5)
    A_prev, W = rng.standard_normal((4, 6)), rng.standard_normal((3, 4))
    gamma, beta = rng.uniform(0.5, 2, (3, 1)), rng.standard_normal((3, 1))
    G = rng.standard_normal((3, 6))
    _, cache = linear_bn.linear_bn_forward(A_prev, W, gamma, beta, activation)
    got = linear_bn.linear_bn_backward_by_autodiff(G, cache)
    want = _numerical(lambda A, W, g, b: linear_bn.linear_bn_forward(A, W, g, b, activation)[0],
                      (A_prev, W, gamma, beta), G)
    assert [x.shape for x in got] == [(4, 6), (3, 4), (3, 1), (3, 1)]
    for name, g, w in zip(("dA_prev", "dW", "dgamma", "dbeta"), got, want):
        assert relative_error(g, w) < 1e-7, name


def test_softmax_jacobian_stand_in_agrees_with_finite_differences():
    z = np.array([5.0, 2.0, -1.0, 3.0])
    J = softmax.softmax_jacobian_by_autodiff(z)
    assert J.shape == (4, 4)
    for j in range(4):
        row = numerical_gradient(lambda v, j=j: float(softmax.softmax(v[:, None])[j, 0]),
                                 z.copy())
        assert relative_error(J[j], row) < 1e-8


def _logits_case(dtype=np.float64):
    rng = _rng(6)
    Z = rng.normal(0, 3, (4, 5)).astype(dtype)
    return Z, softmax.one_hot(rng.integers(0, 4, 5), 4)


def test_cross_entropy_stand_ins_agree_with_finite_differences():
    Z, Y = _logits_case()
    cost, dZ = softmax.softmax_cross_entropy_by_autodiff(Z, Y)
    assert cost == softmax.cross_entropy_of_softmax(Z, Y)
    want = numerical_gradient(lambda v: softmax.cross_entropy_of_softmax(v, Y), Z.copy())
    assert relative_error(dZ, want) < 1e-8
    from_probabilities = softmax.softmax_backward_by_autodiff(softmax.softmax(Z), Y)
    assert relative_error(from_probabilities, want) < 1e-8


def test_the_stand_ins_keep_float32():
    Z, Y = _logits_case(np.float32)
    Z64 = Z.astype(np.float64)
    assert softmax.softmax_cross_entropy_by_autodiff(Z, Y)[1].dtype == np.float32
    dZ = softmax.softmax_backward_by_autodiff(softmax.softmax(Z), Y)
    assert dZ.dtype == np.float32
    assert np.allclose(dZ, softmax.softmax_cross_entropy_by_autodiff(Z64, Y)[1], atol=1e-6)
    assert softmax.softmax_jacobian_by_autodiff(Z[:, 0]).dtype == np.float32
    Zb, gamma, beta, G = _bn_case(np.float32)
    got = batchnorm.batchnorm_backward_by_autodiff(G, batchnorm.batchnorm_forward(Zb, gamma,
                                                                                 beta)[1])
    want = batchnorm.batchnorm_backward_by_autodiff(
        G.astype(float), batchnorm.batchnorm_forward(Zb.astype(float), gamma.astype(float),
                                                     beta.astype(float))[1])
    assert all(g.dtype == np.float32 for g in got)
    assert all(np.allclose(g, w, rtol=1e-3, atol=1e-4) for g, w in zip(got, want))


STAND_INS = [batchnorm.batchnorm_backward_by_autodiff, layernorm.layernorm_backward_by_autodiff,
             linear_bn.linear_bn_backward_by_autodiff, softmax.softmax_jacobian_by_autodiff,
             softmax.softmax_backward_by_autodiff, softmax.softmax_cross_entropy_by_autodiff]


@pytest.mark.parametrize("fn", STAND_INS, ids=lambda f: f.__name__)
def test_each_stand_in_says_it_is_automatic_differentiation_and_writes_out_no_formula(fn):
    assert fn.__name__.endswith("_by_autodiff")
    assert fn.whose.startswith("automatic differentiation of lessonlib's ")
    doc = " ".join(fn.__doc__.split())
    assert "automatic differentiation" in doc
    assert re.search(r"\((C|n|n_prev), (m|C|n_prev)\)", doc)           # shapes, course letters
    for formula in ("Y_hat - Y", "(Y_hat-Y)", "diag(", "y_hat y_hat", "y_hat^T", "inv_std",
                    "mean(dZ_tilde", "dZ_tilde -", "1 - A", "W^T", "A_prev^T", "/ m"):
        assert formula not in doc, formula
    assert Session("03_batch_norm").choose("9.9", fn).whose == \
        f"{fn.whose} (exercise 9.9 does not pass yet)"
