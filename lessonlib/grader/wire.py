"""The narrow channel between a trusted check and the learner's kernel.

A trusted check (``grader.trusted``) calls the learner's function through a ``Remote``
proxy. The grader listens on a Unix socket in the submission's scratch folder; the kernel
runs ``serve_loop`` there, which connects to it and answers call after call (one cell for
a whole check, so a call costs a fraction of a millisecond, not a cell's). A call travels
in as a pickle (the grader's own data, which the kernel may unpickle); the answer comes
back as plain data only: a JSON tree whose arrays travel in an ``.npz`` read with
``allow_pickle=False``. Nothing the learner's process sends back is ever unpickled or
executed.

What may come back: ``None``, booleans, numbers, strings, numeric arrays, tuples, lists,
dicts with string keys, the search-space distributions of ``search.spaces`` (rebuilt here
from their fields), and an exception's type name and message. Any other object stays in
the kernel and comes back as an opaque ``Handle``; tuples and dicts also carry one, so a
cache handed back to the learner's next function is the learner's own object again.
The arrays and random generators passed in come back too, as the call left them, so a
check sees changes made in place and draws taken from its ``rng``.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import re

import numpy as np

MAX_REPLY_BYTES = 64 * 1024 ** 2
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Ref:
    """Names a function of the learner's namespace (a call's target or argument)."""

    def __init__(self, name: str):
        if not _NAME.match(name):
            raise ValueError(f"not a Python name: {name!r}")
        self.name = name


class Handle:
    """An object that stays in the kernel, known by its number."""

    def __init__(self, number: int, type_name: str = "object"):
        self.number = int(number)
        self.type_name = str(type_name)

    def __repr__(self):
        return f"<{self.type_name} of the learner's, kept in its kernel>"

    def __deepcopy__(self, memo):
        return self


class RemoteTuple(tuple):
    """A tuple that came back from the kernel; ``handle`` names the original there."""

    handle: Handle

    def __deepcopy__(self, memo):
        import copy
        out = RemoteTuple(copy.deepcopy(tuple(self), memo))
        out.handle = self.handle
        return out


class RemoteDict(dict):
    """A dict that came back from the kernel; ``handle`` names the original there."""

    handle: Handle

    def __deepcopy__(self, memo):
        import copy
        out = RemoteDict(copy.deepcopy(dict(self), memo))
        out.handle = self.handle
        return out


class RemoteError(Exception):
    """The learner's function raised ``type_name`` in the kernel."""


# ------------------------------------------------------------------ in the kernel

_KEPT: dict[int, object] = {}


def _keep(obj) -> int:
    _KEPT[len(_KEPT) + 1] = obj
    return len(_KEPT)


def _restore(value, namespace):
    """The grader's arguments with ``Ref`` and ``Handle`` replaced by what they name."""
    if isinstance(value, Ref):
        return namespace[value.name]
    if isinstance(value, Handle):
        return _KEPT[value.number]
    if isinstance(value, (RemoteTuple, RemoteDict)) and getattr(value, "handle", None):
        return _KEPT[value.handle.number]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_restore(v, namespace) for v in value)
    if isinstance(value, list) and type(value) is list:
        return [_restore(v, namespace) for v in value]
    if isinstance(value, dict) and type(value) is dict:
        return {k: _restore(v, namespace) for k, v in value.items()}
    return value


def _tree(value, arrays: list, depth: int = 0):
    """``value`` as a JSON tree; arrays go to ``arrays``."""
    from ..search import spaces
    if depth > 20:
        return {"handle": _keep(value), "type": type(value).__name__}
    if value is None or isinstance(value, (bool, np.bool_)):
        return {"v": None if value is None else bool(value)}
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {"int": str(int(value))}
    if isinstance(value, (float, np.floating)):
        return {"float": repr(float(value))}
    if isinstance(value, str):
        return {"str": value}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        arrays.append(np.ascontiguousarray(value))
        return {"array": len(arrays) - 1}
    if isinstance(value, np.random.Generator):
        return {"handle": _keep(value), "type": "Generator"}
    if isinstance(value, spaces.Distribution) and type(value).__module__ == spaces.__name__:
        fields = {k: _tree(v, arrays, depth + 1) for k, v in vars(value).items()}
        return {"distribution": type(value).__name__, "fields": fields}
    if isinstance(value, (tuple, list)):
        items = [_tree(v, arrays, depth + 1) for v in value]
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: items, "handle": _keep(value), "type": type(value).__name__}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = [[k, _tree(v, arrays, depth + 1)] for k, v in value.items()]
        return {"dict": items, "handle": _keep(value), "type": type(value).__name__}
    return {"handle": _keep(value), "type": type(value).__name__}


def answer(request: bytes, namespace: dict) -> bytes:
    """Run one call in the kernel: ``request`` is the grader's pickle of ``(target, args,
    kwargs)``, ``namespace`` the learner's; the reply is an ``.npz`` (no pickles) holding
    the JSON tree and the arrays. The learner's printing is swallowed."""
    target, args_in, kwargs_in = pickle.loads(request)
    sink = io.StringIO()
    args, kwargs = (), {}
    try:
        fn = _restore(target, namespace)
        args = _restore(args_in, namespace)
        kwargs = _restore(kwargs_in, namespace)
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            out = fn(*args, **kwargs)
        reply = {"return": out}
    except KeyError as err:
        missing = isinstance(target, Ref) and target.name not in namespace
        error = NameError(f"name {target.name!r} is not defined (did its cell run?)") \
            if missing else err
        reply = {"raise": [type(error).__name__, str(error)[:300], False]}
        out = None
    except Exception as err:  # noqa: BLE001 - the learner's error is the answer
        reply = {"raise": [type(err).__name__, str(err)[:300],
                           isinstance(err, NotImplementedError)]}
        out = None
    arrays: list = []
    tree = {k: v for k, v in reply.items() if k != "return"}
    if "return" in reply:
        tree["return"] = _tree(out, arrays)
    tree["args"] = [_tree(a, arrays) if isinstance(a, np.ndarray) else None for a in args]
    tree["kwargs"] = {k: _tree(v, arrays) for k, v in kwargs.items()
                      if isinstance(v, np.ndarray)}
    tree["rng"] = {str(i): v.bit_generator.state for i, v in enumerate(args)
                   if isinstance(v, np.random.Generator)}
    tree["rng"].update({k: v.bit_generator.state for k, v in kwargs.items()
                        if isinstance(v, np.random.Generator)})
    buffer = io.BytesIO()
    np.savez(buffer, *arrays, tree=np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8))
    return buffer.getvalue()


def send_frame(sock, data: bytes) -> None:
    sock.sendall(len(data).to_bytes(8, "big") + data)


def recv_frame(sock, limit: int = MAX_REPLY_BYTES) -> bytes | None:
    """One frame from ``sock``; ``None`` when the other end closed it."""
    head = _recv_exactly(sock, 8)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > limit:
        raise ReplyError("a reply larger than the grader accepts")
    body = _recv_exactly(sock, size)
    if body is None:
        raise ReplyError("a reply cut short")
    return body


def _recv_exactly(sock, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def serve_loop(path: str, namespace: dict) -> None:
    """In the kernel's main thread: connect to the grader's socket at ``path`` and answer
    its calls until it says stop (an interrupt stops it too)."""
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        while (request := recv_frame(conn, limit=1 << 34)) not in (None, b"stop"):
            send_frame(conn, answer(request, namespace))


# ------------------------------------------------------------------ in the grader

def request(target, args: tuple, kwargs: dict) -> bytes:
    """The grader's pickle of one call, for ``answer`` in the kernel."""
    return pickle.dumps((target, _outgoing(args), _outgoing(kwargs)))


def _outgoing(value):
    if isinstance(value, (RemoteTuple, RemoteDict)):
        return value.handle
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_outgoing(v) for v in value)
    if isinstance(value, list) and type(value) is list:
        return [_outgoing(v) for v in value]
    if isinstance(value, dict) and type(value) is dict:
        return {k: _outgoing(v) for k, v in value.items()}
    return value


class ReplyError(Exception):
    """The kernel's reply could not be read: it is not one ``serve`` writes."""


def read_reply(data: bytes) -> dict:
    """A reply of ``answer``, decoded safely: ``{"tree": ..., "arrays": {k: array}}``."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            tree = json.loads(npz["tree"].tobytes().decode())
            arrays = {int(k[4:]): npz[k] for k in npz.files if k.startswith("arr_")}
    except Exception as err:  # noqa: BLE001 - anything unreadable is a bad reply
        raise ReplyError(f"an unreadable reply ({type(err).__name__})") from None
    if not isinstance(tree, dict):
        raise ReplyError("a reply that is not a JSON object")
    return {"tree": tree, "arrays": arrays}


def value(node, arrays: dict):
    """Rebuild a value from its JSON tree (only the kinds listed in the module's doc)."""
    from ..search import spaces
    if not isinstance(node, dict):
        raise ReplyError("a malformed value")
    if "v" in node:
        if node["v"] not in (None, True, False):
            raise ReplyError("a malformed constant")
        return node["v"]
    if "int" in node:
        return int(str(node["int"])[:4300])
    if "float" in node:
        return float(node["float"])
    if "str" in node:
        return str(node["str"])
    if "array" in node:
        return arrays[int(node["array"])]
    if "distribution" in node:
        cls = getattr(spaces, str(node["distribution"]), None)
        if not (isinstance(cls, type) and issubclass(cls, spaces.Distribution)):
            raise ReplyError("an unknown distribution")
        fields = dict(node["fields"])
        if set(fields) != {"low", "high"}:
            raise ReplyError("a malformed distribution")
        obj = object.__new__(cls)           # as the learner built it, valid or not
        for k in ("low", "high"):
            object.__setattr__(obj, k, value(fields[k], arrays))
        return obj
    handle = Handle(node.get("handle", 0), str(node.get("type", "object"))[:60])
    if "tuple" in node or "list" in node:
        items = [value(v, arrays) for v in (node.get("tuple") or node.get("list") or [])]
        if "list" in node:
            return items
        out = RemoteTuple(items)
        out.handle = handle
        return out
    if "dict" in node:
        out = RemoteDict({str(k): value(v, arrays) for k, v in node["dict"]})
        out.handle = handle
        return out
    if "handle" in node:
        return handle
    raise ReplyError("a value of an unknown kind")
