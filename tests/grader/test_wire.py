"""lessonlib.grader.wire: calls travel into the kernel and plain data comes back; a reply
the grader did not expect is rejected, never unpickled."""

import io
import json
import pickle
import socket

import numpy as np
import pytest

from lessonlib.grader import wire
from lessonlib.search import spaces


def _call(namespace, target, *args, **kwargs):
    """What the grader gets back when the kernel answers ``target(*args, **kwargs)``."""
    return wire.read_reply(wire.answer(wire.request(wire.Ref(target), args, kwargs),
                                       namespace))


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


def _npz(tree):
    buf = io.BytesIO()
    np.savez(buf, tree=np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8))
    return buf.getvalue()


@pytest.mark.parametrize("data, why", [
    (b"", "unreadable"),
    (b"not an npz at all", "unreadable"),
    (pickle.dumps({"evil": 1}), "unreadable"),
    (_npz(["a list"]), "not a JSON object"),
])
def test_a_reply_that_answer_would_not_write_is_rejected(data, why):
    with pytest.raises(wire.ReplyError, match=why):
        wire.read_reply(data)


def test_an_object_array_is_never_unpickled():
    buf = io.BytesIO()
    np.savez(buf, np.array([object()], dtype=object), tree=np.frombuffer(b"{}", dtype=np.uint8))
    with pytest.raises(wire.ReplyError, match="unreadable"):
        wire.read_reply(buf.getvalue())


def test_frames_carry_their_length_and_refuse_an_oversized_or_cut_reply():
    a, b = socket.socketpair()
    with a, b:
        wire.send_frame(a, b"hello")
        assert wire.recv_frame(b) == b"hello"
        a.sendall((10 ** 12).to_bytes(8, "big"))
        with pytest.raises(wire.ReplyError, match="larger than"):
            wire.recv_frame(b)
    a, b = socket.socketpair()
    with b:
        a.sendall((100).to_bytes(8, "big") + b"short")
        a.close()
        with pytest.raises(wire.ReplyError, match="cut short"):
            wire.recv_frame(b)
        assert wire.recv_frame(b) is None


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
