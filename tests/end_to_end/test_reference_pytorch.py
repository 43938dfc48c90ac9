"""lessonlib against PyTorch as a reference: batch norm (forward, backward, running
statistics with ``momentum = 1 - decay``) and softmax cross-entropy.

PyTorch is optional (``pip install torch``); without it these tests are skipped with the
reason. PyTorch's examples are rows, lessonlib's columns, hence the transposes.
"""

import numpy as np
import pytest
from lessonlib_instructor import answers

from lessonlib.layers import batchnorm as bn
from lessonlib.layers import softmax as sm


@pytest.fixture(scope="module")
def torch():
    """PyTorch, imported by the worker that runs these tests only (not at collection: its
    import takes about a second in every process)."""
    return pytest.importorskip("torch", reason="PyTorch is not installed (optional reference)")


def _t(torch, a, grad=False):
    return torch.tensor(np.ascontiguousarray(np.asarray(a).T), dtype=torch.float64,
                        requires_grad=grad)


@pytest.mark.parametrize("n, m", [(3, 2), (7, 16), (64, 60)])
def test_batchnorm_forward_and_backward_match_pytorch(torch, n, m):
    rng = np.random.default_rng(n * m)
    Z = 3 * rng.standard_normal((n, m)) + rng.normal(0, 5, (n, 1))
    gamma, beta = rng.uniform(0.5, 2, (n, 1)), rng.standard_normal((n, 1))
    G = rng.standard_normal((n, m))
    out, cache = bn.batchnorm_forward(Z, gamma, beta, eps=1e-5)
    dZ, dgamma, dbeta = answers.batchnorm_backward(G, cache)

    layer = torch.nn.BatchNorm1d(n, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(gamma[:, 0]))
        layer.bias.copy_(torch.tensor(beta[:, 0]))
    x = _t(torch, Z, grad=True)
    y = layer(x)
    y.backward(_t(torch, G))
    assert np.allclose(y.detach().numpy().T, out, atol=1e-12)
    assert np.allclose(x.grad.numpy().T, dZ, atol=1e-10)
    assert np.allclose(layer.weight.grad.numpy(), dgamma[:, 0], atol=1e-10)
    assert np.allclose(layer.bias.grad.numpy(), dbeta[:, 0], atol=1e-10)


@pytest.mark.parametrize("decay", [0.9, 0.99, 0.5])
def test_running_statistics_match_pytorch_with_momentum_one_minus_decay(torch, decay):
    rng = np.random.default_rng(7)
    n = 5
    ours = bn.BatchNorm(n, decay=decay)
    theirs = torch.nn.BatchNorm1d(n, momentum=1 - decay, dtype=torch.float64)
    theirs.train()
    for step in range(25):
        Z = rng.normal(step / 10, 1 + step / 20, (n, int(rng.integers(2, 40))))
        ours.forward(Z)
        theirs(_t(torch, Z))
    assert np.allclose(ours.running_mean[:, 0], theirs.running_mean.numpy(), atol=1e-12)
    assert np.allclose(ours.running_var[:, 0], theirs.running_var.numpy(), atol=1e-12)
    # evaluation mode uses them alike, for a batch of one example too
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((n, 1))
    assert np.allclose(ours.forward(x)[0][:, 0], theirs(_t(torch, x)).detach().numpy()[0],
                       atol=1e-12)


@pytest.mark.parametrize("C, m, scale", [(2, 1, 1.0), (10, 50, 3.0), (7, 13, 1e3)])
def test_softmax_cross_entropy_matches_pytorch(torch, C, m, scale):
    rng = np.random.default_rng(C + m)
    Z = scale * rng.standard_normal((C, m))
    y = rng.integers(0, C, m)
    cost, dZ = answers.softmax_cross_entropy(Z, sm.one_hot(y, C))
    z = _t(torch, Z, grad=True)
    loss = torch.nn.functional.cross_entropy(z, torch.tensor(y))
    loss.backward()
    assert cost == pytest.approx(loss.item(), rel=1e-12, abs=1e-12)
    assert np.allclose(z.grad.numpy().T, dZ, atol=1e-14)
    assert np.allclose(sm.softmax(Z), torch.softmax(_t(torch, Z), dim=1).numpy().T, atol=1e-14)
