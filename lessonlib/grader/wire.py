"""The narrow channel between a trusted check and the learner's kernel.

A trusted check (``grader.trusted``) calls the learner's function through a ``Remote``
proxy. The grader listens on a Unix socket in the submission's scratch folder; the kernel
runs ``serve_loop`` there, which connects to it and answers call after call (one cell for
a whole check, so a call costs a fraction of a millisecond, not a cell's). A call travels
in as a pickle (the grader's own data, which the kernel may unpickle); the answer comes
back as plain data only: a JSON tree whose arrays travel in an ``.npz`` read without
pickles. Nothing the learner's process sends back is ever unpickled or executed, and what
it sends takes bounded memory in the grader: a reply is at most ``MAX_REPLY_BYTES``, and it
is expanded only after the sizes it declares are checked against ``MAX_EXPANDED_BYTES``
(a compressed archive cannot expand past them). Each call has a deadline fixed when it
starts, which a reply sent slowly, a byte at a time, does not extend.

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
import math
import pickle
import re
import time
import zipfile

import numpy as np

MAX_REPLY_BYTES = 64 * 1024 ** 2
# what a reply may hold once expanded (``answer`` never compresses, so a reply it writes is
# as large expanded as sent), and how many arrays
MAX_EXPANDED_BYTES = MAX_REPLY_BYTES
MAX_ARRAYS = 10_000
# the archive's table of contents, read whole before anything else: 100 bytes an array
MAX_DIRECTORY_BYTES = 100 * MAX_ARRAYS
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


def send_frame(sock, data: bytes, deadline: float | None = None) -> None:
    """Send one frame; by ``deadline`` (a ``time.monotonic()`` value) or ``TimeoutError``."""
    if deadline is not None:
        sock.settimeout(_left(deadline))
    sock.sendall(len(data).to_bytes(8, "big") + data)   # its timeout is for the whole


def recv_frame(sock, limit: int = MAX_REPLY_BYTES, deadline: float | None = None
               ) -> bytes | None:
    """One frame from ``sock``; ``None`` when the other end closed it. With ``deadline``
    (a ``time.monotonic()`` value), ``TimeoutError`` once it passes, however the frame's
    bytes trickle in."""
    head = _recv_exactly(sock, 8, deadline)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > limit:
        raise ReplyError("a reply larger than the grader accepts")
    body = _recv_exactly(sock, size, deadline)
    if body is None:
        raise ReplyError("a reply cut short")
    return body


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the call's deadline passed")
    return left


def _recv_exactly(sock, n: int, deadline: float | None = None) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            sock.settimeout(_left(deadline))
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


def read_reply(data: bytes, limit: int = MAX_EXPANDED_BYTES) -> dict:
    """A reply of ``answer``, decoded safely: ``{"tree": ..., "arrays": {k: array}}``. The
    archive's declared sizes are checked against ``limit`` before anything is expanded, and
    each array's shape against its member's size before it is allocated; a member that
    expands past its declared size fails its check (``zipfile`` reads no further)."""
    try:
        end = zipfile._EndRecData(io.BytesIO(data))    # the table of contents' size
        if end is None:
            raise zipfile.BadZipFile("not an archive")
        if end[zipfile._ECD_SIZE] > MAX_DIRECTORY_BYTES:
            raise ReplyError("a reply of more arrays than the grader accepts")
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except ReplyError:
        raise
    except Exception as err:  # noqa: BLE001 - anything unreadable is a bad reply
        raise ReplyError(f"an unreadable reply ({type(err).__name__})") from None
    if len(members) > MAX_ARRAYS:
        raise ReplyError(f"a reply of {len(members)} arrays, more arrays than the grader "
                         "accepts")
    expanded = sum(m.file_size for m in members)
    if expanded > limit:
        raise ReplyError(f"a reply that would expand to {expanded} bytes, more than the "
                         f"{limit} the grader accepts")
    try:
        with archive:
            found = {m.filename.removesuffix(".npy"): _read_array(archive, m)
                     for m in members}
        tree = json.loads(found.pop("tree").tobytes().decode())
        arrays = {int(k[4:]): a for k, a in found.items() if k.startswith("arr_")}
    except ReplyError as err:
        raise ReplyError(f"an unreadable reply ({err})") from None
    except Exception as err:  # noqa: BLE001 - anything unreadable is a bad reply
        raise ReplyError(f"an unreadable reply ({type(err).__name__})") from None
    if not isinstance(tree, dict):
        raise ReplyError("a reply that is not a JSON object")
    return {"tree": tree, "arrays": arrays}


def _read_array(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member: its header read first, and its data only when the shape it
    declares fits in the member's declared size; no object arrays."""
    fmt = np.lib.format
    with archive.open(member) as f:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
        else:
            raise ReplyError("an array of an unknown format")
        if dtype.hasobject:
            raise ReplyError("an array of Python objects")
        count = math.prod(shape)
        if count * dtype.itemsize > member.file_size:
            raise ReplyError("an array larger than its archive declares")
        out = np.empty(count, dtype=dtype)
        view = memoryview(out.view(np.uint8))
        got = 0
        while got < out.nbytes:
            n = f.readinto(view[got:])
            if not n:
                raise ReplyError("an array cut short")
            got += n
    return out.reshape(shape[::-1]).transpose() if fortran else out.reshape(shape)


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
