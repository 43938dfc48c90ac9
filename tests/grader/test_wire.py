"""lessonlib.grader.wire: calls travel into the kernel and plain data comes back; a reply
the grader did not expect is rejected, never unpickled; a reply is expanded only within its
limits, and a call's deadline is not extended by a reply trickled in."""

import io
import json
import pickle
import socket
import threading
import time
import tracemalloc
import zipfile

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


# ---------------------------------------------------------------- deadlines and sizes

def _trickle(sock, frame: bytes, every: float) -> threading.Thread:
    """Send ``frame`` on ``sock`` one byte at a time, ``every`` seconds apart."""
    def run():
        for i in range(len(frame)):
            try:
                sock.sendall(frame[i:i + 1])
            except OSError:
                return
            time.sleep(every)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_trickled_reply_does_not_extend_the_calls_deadline():
    """A frame of 18 bytes sent a byte every 0.25 s (4.5 s in all) against a 1 s limit: a
    timeout per receive, as before, lets it through; the call's deadline stops it at 1 s."""
    frame = (10).to_bytes(8, "big") + b"0123456789"
    a, b = socket.socketpair()
    with a, b:
        _trickle(a, frame, 0.25)
        b.settimeout(1.0)                    # the old way: the limit restarts at each byte
        start = time.monotonic()
        assert wire.recv_frame(b) == b"0123456789"
        assert time.monotonic() - start > 4
    a, b = socket.socketpair()
    with a, b:
        _trickle(a, frame, 0.25)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.recv_frame(b, deadline=start + 1.0)
        assert 0.9 < time.monotonic() - start < 1.5
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(TimeoutError):            # a deadline already past
            wire.send_frame(a, b"x", deadline=time.monotonic() - 1)


def _peak(fn):
    """``fn()``'s outcome (its value or the exception it raised) and the peak memory it
    allocated (tracemalloc, which counts numpy's and zlib's buffers too)."""
    tracemalloc.start()
    try:
        try:
            out = fn()
        except Exception as err:  # noqa: BLE001 - the outcome under test
            out = err
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _bomb(expanded: int) -> bytes:
    """An ``.npz`` whose one array is ``expanded`` bytes of zeros, deflated (a few hundred
    KiB), and its tree: what a learner who rebinds ``np.savez`` in the kernel could send."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("arr_0.npy", "w", force_zip64=True) as f:
            f.write(_npy_header((expanded // 8,)))
            chunk = bytes(1 << 20)
            for _ in range(expanded // len(chunk)):
                f.write(chunk)
        archive.writestr("tree.npy", _npy(np.frombuffer(b'{"return": {"array": 0}}',
                                                         dtype=np.uint8)))
    return buffer.getvalue()


def _npy_header(shape, descr="<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_a_compressed_reply_is_refused_before_it_expands():
    """96 MiB of zeros deflated to a few hundred KiB: np.load, as before, expands it all in
    the trusted process; read_reply refuses it from the sizes the archive declares, having
    allocated under 2 MiB."""
    bomb = _bomb(96 * 1024 ** 2)
    assert len(bomb) < wire.MAX_REPLY_BYTES // 50
    before, peak = _peak(lambda: np.load(io.BytesIO(bomb))["arr_0"].nbytes)
    assert before == 96 * 1024 ** 2 and peak > 96 * 1024 ** 2
    refused, peak = _peak(lambda: wire.read_reply(bomb))
    assert isinstance(refused, wire.ReplyError) and "would expand to" in str(refused)
    assert peak < 2 * 1024 ** 2, peak


def _patched_size(data: bytes, name: bytes, size: int) -> bytes:
    """The archive ``data`` with the uncompressed size its central directory declares for
    member ``name`` set to ``size`` (a lie: the member's data expands further)."""
    at = next(i for i in _all(data, b"PK\x01\x02")
              if data[i + 46:i + 46 + len(name)] == name)
    return data[:at + 24] + size.to_bytes(4, "little") + data[at + 28:]


def _all(data: bytes, needle: bytes):
    i = data.find(needle)
    while i >= 0:
        yield i
        i = data.find(needle, i + 1)


def test_an_archive_that_lies_about_its_sizes_is_not_expanded_past_them():
    """A member whose data expands to 32 MiB but which declares 1 KiB is expanded no
    further than 1 KiB, where its checksum fails; an array whose header claims 10^12
    elements in a member of a few bytes is refused before anything is allocated."""
    for shape in ((4 * 1024 ** 2,), (100,)):            # past the 1 KiB, or within it
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("arr_0.npy", _npy_header(shape) + bytes(32 * 1024 ** 2))
            archive.writestr("tree.npy", _npy(np.frombuffer(b"{}", dtype=np.uint8)))
        liar = _patched_size(buffer.getvalue(), b"arr_0.npy", 1024)
        refused, peak = _peak(lambda data=liar: wire.read_reply(data))
        assert isinstance(refused, wire.ReplyError) and peak < 2 * 1024 ** 2, (refused, peak)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("arr_0.npy", _npy_header((10 ** 12,)) + bytes(8))
        archive.writestr("tree.npy", _npy(np.frombuffer(b"{}", dtype=np.uint8)))
    refused, peak = _peak(lambda: wire.read_reply(buffer.getvalue()))
    assert isinstance(refused, wire.ReplyError) and "larger than its archive" in str(refused)
    assert peak < 1024 ** 2


def test_a_reply_of_too_many_arrays_is_refused_before_its_contents_are_listed():
    """More members than the grader accepts, or a table of contents too long (each entry
    would become an object here): refused, the latter before it is read."""
    for count, name in ((wire.MAX_ARRAYS + 1, "arr_{}.npy"), (6000, "arr_{}" + "x" * 200)):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for i in range(count):
                archive.writestr(name.format(i), b"")
        data = buffer.getvalue()
        refused, peak = _peak(lambda data=data: wire.read_reply(data))
        assert isinstance(refused, wire.ReplyError) and "more arrays than" in str(refused)
    assert peak < 1024 ** 2, peak


def test_honest_replies_of_every_layout_still_read():
    """Fortran order, big-endian, empty and 0-d arrays, and a compressed archive within the
    limit: read as np.load reads them."""
    arrays = [np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(3, dtype=">i4"),
              np.zeros((0, 4)), np.array(2.5), np.array([1 + 2j])]
    for save in (np.savez, np.savez_compressed):
        buffer = io.BytesIO()
        save(buffer, *arrays, tree=np.frombuffer(b'{"ok": 1}', dtype=np.uint8))
        reply = wire.read_reply(buffer.getvalue())
        assert reply["tree"] == {"ok": 1}
        for i, want in enumerate(arrays):
            got = reply["arrays"][i]
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert got.flags.writeable
