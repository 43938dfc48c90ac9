"""The narrow channel between a trusted check and the learner's kernel.

A trusted check (``grader.trusted``) calls the learner's function through a ``Remote``
proxy. The call travels into the kernel as a pickle (the grader's own data, which the
kernel may unpickle); the kernel runs ``serve`` there and answers with plain data only:
a JSON tree whose arrays travel in an ``.npz`` read with ``allow_pickle=False``. Nothing
the learner's process sends back is ever unpickled or executed.

What may come back: ``None``, booleans, numbers, strings, numeric arrays, tuples, lists,
dicts with string keys, the search-space distributions of ``search.spaces`` (rebuilt here
from their fields), and an exception's type name and message. Any other object stays in
the kernel and comes back as an opaque ``Handle``; tuples and dicts also carry one, so a
cache handed back to the learner's next function is the learner's own object again.
The arrays and random generators passed in come back too, as the call left them, so a
check sees changes made in place and draws taken from its ``rng``.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import pickle
import re

import numpy as np

MARKER = "\x00lessonlib-wire\x00"
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
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" \
            and value.dtype.hasobject is False:
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


def serve(nonce: str, payload: str, namespace: dict) -> None:
    """Run one call in the kernel and print its reply: ``MARKER nonce base64(npz)``.

    ``payload`` is the grader's pickle of ``(target, args, kwargs)``; ``namespace`` is the
    learner's (``globals()`` of the cell). The learner's printing is swallowed.
    """
    target, args_in, kwargs_in = pickle.loads(base64.b64decode(payload))
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
    print(f"{MARKER}{nonce} {base64.b64encode(buffer.getvalue()).decode()}", flush=True)


# ------------------------------------------------------------------ in the grader

def request(nonce: str, target, args: tuple, kwargs: dict) -> str:
    """The code the grader runs in the kernel for one call."""
    payload = base64.b64encode(pickle.dumps((target, _outgoing(args), _outgoing(kwargs))))
    return (f"__import__('lessonlib.grader.wire', fromlist=['serve']).serve("
            f"{nonce!r}, {payload.decode()!r}, globals())")


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


def read_reply(text: str, nonce: str) -> dict:
    """The reply of call ``nonce`` in the kernel's printed ``text``, decoded safely."""
    head = f"{MARKER}{nonce} "
    lines = [ln for ln in text.splitlines() if ln.startswith(head)]
    if len(lines) != 1:
        raise ReplyError("no reply" if not lines else "more than one reply")
    raw = lines[0][len(head):]
    if len(raw) > MAX_REPLY_BYTES * 4 // 3 + 4:
        raise ReplyError("a reply larger than the grader accepts")
    try:
        with np.load(io.BytesIO(base64.b64decode(raw, validate=True)),
                     allow_pickle=False) as npz:
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
