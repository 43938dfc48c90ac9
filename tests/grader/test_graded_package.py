"""lessonlib.grader.graded_package: the sandbox's lessonlib has the marked functions of the
graded notebook stubbed, found from their decorators, and nothing else changed."""

import subprocess
import sys

from lessonlib.grader.graded_package import marked_exercises, stub_marked, write_graded_package
from tests.grader.common import marked_functions

SOURCE = '''
from x import gives_away, stand_in

@stand_in("3.1", "4.3", whose="a phrase")
def forward(Z):
    return Z

class Layer:
    @gives_away("3.3")
    def backward(self, d):
        return d

def plain(Z):
    return Z
'''


def test_the_marks_are_read_from_the_decorators():
    import ast
    fns = {n.name: n for n in ast.walk(ast.parse(SOURCE)) if isinstance(n, ast.FunctionDef)}
    assert marked_exercises(fns["forward"]) == {"3.1", "4.3"}
    assert marked_exercises(fns["backward"]) == {"3.3"}
    assert marked_exercises(fns["plain"]) == set()


def test_only_the_functions_of_the_graded_exercises_are_stubbed():
    new, stubbed = stub_marked(SOURCE, {"4.3"})
    assert stubbed == ["forward"]
    assert "OffLimits" in new and "return d" in new and "def plain(Z):\n    return Z" in new
    assert stub_marked(SOURCE, {"1.1"}) == (SOURCE, [])


def test_the_graded_package_stubs_every_marked_function_of_the_notebook(tmp_path):
    """Every function marked for notebook 03's exercises, found by importing lessonlib,
    raises in the copy; a function marked for other exercises only runs."""
    package = write_graded_package(["3.1", "3.2", "3.3", "3.4", "3.5", "3.6"], tmp_path)
    marked = marked_functions()
    ours = sorted(p for p, fn in marked.items() if {"3.1", "3.3", "3.4"} & set(fn.exercises)
                  and "." not in p.split(":")[1])
    code = (
        "import importlib, json, sys\n"
        "out = {}\n"
        f"for path in {ours + ['search.boxes:random_search_points']!r}:\n"
        "    module, name = path.split(':')\n"
        "    fn = getattr(importlib.import_module('lessonlib.' + module), name)\n"
        "    try:\n"
        "        fn()\n"
        "    except BaseException as e:\n"
        "        out[path] = type(e).__name__\n"
        "print(json.dumps(out))\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(package.parent), "PATH": ""},
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    import json
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert ours and all(got[p] == "OffLimits" for p in ours), got
    assert got["search.boxes:random_search_points"] == "TypeError"   # not stubbed: it ran
