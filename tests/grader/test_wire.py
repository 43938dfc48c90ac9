"""lessonlib.grader.wire: calls travel into the kernel and plain data comes back; a reply
the grader did not expect is rejected, never unpickled."""

import base64
import contextlib
import io
import json
import pickle

import numpy as np
import pytest

from lessonlib.grader import wire
from lessonlib.search import spaces


def _call(namespace, target, *args, **kwargs):
    """What the grader gets back when ``serve`` runs ``target(*args, **kwargs)``."""
    code = wire.request("n1", wire.Ref(target), args, kwargs)
    payload = code.split("'n1', '")[1].split("'")[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        wire.serve("n1", payload, namespace)
    return wire.read_reply(out.getvalue(), "n1")


def test_numbers_arrays_tuples_dicts_and_distributions_come_back_as_data():
    def f(x):
        print("the learner's own printing is swallowed")
        return (2 * x, {"mu": x.mean(), "n": 3, "ok": True, "name": "z", "none": None},
                spaces.LogUniform(1e-4, 1.0))
    reply = _call({"f": f}, "f", np.arange(3.0))
    out = wire.value(reply["tree"]["return"], reply["arrays"])
    assert isinstance(out, wire.RemoteTuple) and out.handle.number >= 1
    np.testing.assert_array_equal(out[0], [0.0, 2.0, 4.0])
    assert out[1] == {"mu": 1.0, "n": 3, "ok": True, "name": "z", "none": None}
    assert type(out[2]) is spaces.LogUniform and (out[2].low, out[2].high) == (1e-4, 1.0)


def test_an_opaque_object_stays_in_the_kernel_and_comes_back_as_itself():
    class Cache:
        pass
    kept = Cache()
    ns = {"forward": lambda: (1.0, kept), "backward": lambda c: c is kept}
    first = _call(ns, "forward")
    out = wire.value(first["tree"]["return"], first["arrays"])
    assert isinstance(out[1], wire.Handle) and "Cache" in repr(out[1])
    second = _call(ns, "backward", out[1])
    assert wire.value(second["tree"]["return"], second["arrays"]) is True
    # a tuple that came back is handed back as the learner's own object
    again = _call(ns, "backward", out)
    assert wire.value(again["tree"]["return"], again["arrays"]) is False


def test_changes_in_place_and_draws_from_the_rng_come_back():
    def g(a, *, rng):
        a[0] = 99.0
        return rng.random()
    rng = np.random.default_rng(5)
    reply = _call({"g": g}, "g", np.zeros(2), rng=rng)
    tree = reply["tree"]
    np.testing.assert_array_equal(wire.value(tree["args"][0], reply["arrays"]), [99.0, 0.0])
    assert tree["rng"]["rng"] != rng.bit_generator.state


def test_errors_come_back_by_name_and_a_missing_function_is_named():
    def h():
        raise NotImplementedError("Exercise 9.9: h")
    assert _call({"h": h}, "h")["tree"]["raise"] == ["NotImplementedError",
                                                      "Exercise 9.9: h", True]
    name, message, _ = _call({}, "h")["tree"]["raise"]
    assert name == "NameError" and "did its cell run?" in message


def _reply(tree=None, arrays=(), raw=None):
    buf = io.BytesIO()
    np.savez(buf, *arrays, tree=np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8))
    body = raw if raw is not None else base64.b64encode(buf.getvalue()).decode()
    return f"{wire.MARKER}n2 {body}"


@pytest.mark.parametrize("text, why", [
    ("", "no reply"),
    (_reply({"return": {"v": 1}}) + "\n" + _reply({"return": {"v": 1}}), "more than one"),
    (_reply(raw="not base64!"), "unreadable"),
    (_reply(raw=base64.b64encode(pickle.dumps({"evil": 1})).decode()), "unreadable"),
    (_reply(["a list"]), "not a JSON object"),
])
def test_a_reply_that_serve_would_not_write_is_rejected(text, why):
    with pytest.raises(wire.ReplyError, match=why):
        wire.read_reply(text, "n2")


def test_an_object_array_is_never_unpickled():
    buf = io.BytesIO()
    np.savez(buf, np.array([object()], dtype=object), tree=np.frombuffer(b"{}", dtype=np.uint8))
    text = f"{wire.MARKER}n3 {base64.b64encode(buf.getvalue()).decode()}"
    with pytest.raises(wire.ReplyError, match="unreadable"):
        wire.read_reply(text, "n3")


@pytest.mark.parametrize("node", [
    ["not", "a", "dict"], {"v": "yes"}, {"distribution": "os", "fields": {}},
    {"distribution": "LogUniform", "fields": {"low": {"v": None}}}, {"what": 1},
])
def test_a_malformed_value_is_rejected(node):
    with pytest.raises(wire.ReplyError):
        wire.value(node, {})


def test_a_ref_names_a_python_name_only():
    with pytest.raises(ValueError, match="not a Python name"):
        wire.Ref("__import__('os').system('x')")
