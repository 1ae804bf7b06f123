"""The import graph respects the layers: io -> flow -> temporal -> stages -> pipeline -> api -> cli.

Every module of the package is parsed (ast, nothing imported) and each import it makes is checked
against :data:`LAYERS`: a module may import only from its own layer or lower ones. Imports under
``if TYPE_CHECKING:`` do not count (they never run); imports inside functions do (they run the
first time the function does). The stage packages of layer 5 may not import each other directly
(film and interpolate meet in a chain, restorers through the registry), and no two packages may
import each other, directly or round a longer cycle.

Stage packages take their own config section, never the whole ``Config``: none of their modules
imports :mod:`vidrestore.config` at runtime (builders that take the whole config live in layer 6).
:data:`ALLOWED` must stay empty.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import vidrestore

ROOT = Path(vidrestore.__file__).resolve().parent

#: Lowest to highest. A key names a module or a package (everything under it).
LAYERS: dict[str, int] = {
    "vidrestore": 1,  # the package's own __init__ (version, logging handler)
    "vidrestore.errors": 1, "vidrestore.types": 1, "vidrestore.tensors": 1, "vidrestore.threads": 1,
    "vidrestore.device": 1, "vidrestore.stage": 1, "vidrestore.sections": 1, "vidrestore.weights": 1,
    "vidrestore.io": 2,
    "vidrestore.flow": 3,
    "vidrestore.temporal": 4,
    "vidrestore.metrics": 4,  # the temporal metrics (warping error, flow consistency) measure with flow
    "vidrestore.restore": 5, "vidrestore.film": 5, "vidrestore.interpolate": 5, "vidrestore.decloud": 5,
    "vidrestore.config": 6, "vidrestore.pipeline": 6, "vidrestore.jobs": 6,
    "vidrestore.api": 7, "vidrestore.web": 7,
    "vidrestore.cli": 8, "vidrestore.__main__": 8,
}
#: Layer-5 packages that may not import one another (they meet in a chain or through the registry).
STAGE_PACKAGES = ("vidrestore.restore", "vidrestore.film", "vidrestore.interpolate", "vidrestore.decloud")

#: (importing module, imported module) pairs exempt from the rules. It must stay empty: an import that
#: runs up the layers is fixed by moving code (issue 21 emptied it), never by listing it here.
ALLOWED: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def layer_key(name: str) -> str | None:
    """The most specific LAYERS key that ``name`` falls under."""
    best = None
    for key in LAYERS:
        if (name == key or name.startswith(key + ".")) and (best is None or len(key) > len(best)):
            best = key
    return best


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node`` except the bodies of ``if TYPE_CHECKING:`` (their ``else`` runs)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _runtime_nodes(other)
            continue
        yield child
        yield from _runtime_nodes(child)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The vidrestore modules ``name`` imports at runtime (relative imports resolved, ``from pkg import mod``
    counted as the module when there is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "vidrestore")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "vidrestore":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
    found.discard(name)
    return found


def _package(name: str) -> str:
    """The node of the package graph: ``vidrestore.X`` for anything under it, except a stage's config
    section module (``vidrestore.X.config``): it is a leaf that imports only the core layer, read by the
    assembler ``vidrestore.config``, so it is a node of its own (else the assembler reading the jobs
    section would make config and jobs look like a cycle)."""
    parts = name.split(".")
    if len(parts) == 3 and parts[2] == "config":
        return name
    return ".".join(parts[:2])


def test_config_section_modules_are_leaves() -> None:
    """What lets :func:`_package` treat them as nodes of their own: they import the core layer only."""
    modules = all_modules()
    for name, path in modules.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[2] == "config":
            above = [t for t in imports_of(name, path, modules) if LAYERS[layer_key(t) or "vidrestore"] > 1
                     and not (t.startswith(name.rpartition(".")[0] + ".") and t.endswith(".config"))]
            assert above == [], f"{name} imports {above}: a config section may import only the core layer"


def violations() -> list[str]:
    modules = all_modules()
    problems = []
    for name, path in modules.items():
        own = layer_key(name)
        for target in sorted(imports_of(name, path, modules)):
            theirs = layer_key(target)
            problem = None
            if own is None or theirs is None:
                continue  # reported by test_every_module_has_a_layer
            if LAYERS[theirs] > LAYERS[own]:
                problem = f"{name} (layer {LAYERS[own]}) imports {target} (layer {LAYERS[theirs]})"
            elif own in STAGE_PACKAGES and theirs in STAGE_PACKAGES and own != theirs:
                problem = f"{name} imports the stage package {target} directly (use the registry or a chain)"
            if problem and (name, target) not in ALLOWED:
                problems.append(problem)
    return problems


def package_graph() -> dict[str, set[str]]:
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(_package(name), set())
        for target in imports_of(name, path, modules):
            if (name, target) in ALLOWED:
                continue
            if _package(target) != _package(name) and _package(target) != "vidrestore":
                edges.add(_package(target))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of two or more packages (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


# ----------------------------------------------------------------- the rules


def test_every_module_has_a_layer() -> None:
    missing = [name for name in all_modules() if layer_key(name) is None]
    assert missing == [], f"add these to LAYERS in {__file__}: {missing}"


def test_no_import_runs_up_the_layers() -> None:
    problems = violations()
    assert problems == [], "\n".join(problems)


def test_no_import_cycle_between_packages() -> None:
    found = cycles(package_graph())
    assert found == [], f"import cycles between packages: {found}"


def test_allowed_stays_empty() -> None:
    assert ALLOWED == {}, "move the code instead of allowing an import that runs up the layers"


def whole_config_imports(name: str, path: Path, modules: dict[str, Path]) -> list[str]:
    """What ``name`` imports at runtime from the whole-config assembler :mod:`vidrestore.config` (a
    stage's own section module, ``vidrestore.X.config``, is not it)."""
    return sorted(t for t in imports_of(name, path, modules)
                  if t == "vidrestore.config" or t.startswith("vidrestore.config."))


def stage_modules_importing_the_config() -> list[str]:
    """Layer-5 modules that import :mod:`vidrestore.config` at runtime; whatever ALLOWED says, this rule
    has no exception."""
    modules = all_modules()
    return [f"{name} imports {target}" for name, path in modules.items() if LAYERS[layer_key(name) or "vidrestore"] == 5
            for target in whole_config_imports(name, path, modules)]


def test_stage_packages_never_import_the_whole_config() -> None:
    """They read their own section (``vidrestore.X.config``); ``Config`` may appear in annotations under
    ``if TYPE_CHECKING:`` only."""
    found = stage_modules_importing_the_config()
    assert found == [], "\n".join(found)


def whole_config_parameters(path: Path) -> list[str]:
    """Functions of a module whose parameters are annotated with the whole :class:`vidrestore.config.Config`
    (under any name it is imported as, a ``TYPE_CHECKING`` import included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == "vidrestore.config" for alias in node.names if alias.name == "Config"}
    if not names:
        return []

    def mentions(annotation: ast.expr | None) -> bool:
        if annotation is None:
            return False
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            annotation = ast.parse(annotation.value, mode="eval").body
        return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(annotation))

    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None and mentions(arg.annotation):
                    found.append(f"{path.name}:{node.lineno} {node.name}({arg.arg})")
    return found


def test_stage_functions_never_take_the_whole_config() -> None:
    """A stage package's functions take their own section (or a protocol naming the sections they read);
    builders from the whole ``Config`` live in layer 6 (:mod:`vidrestore.pipeline.stages`)."""
    modules = all_modules()
    found = [f"{name}: {hit}" for name, path in modules.items() if LAYERS[layer_key(name) or "vidrestore"] == 5
             for hit in whole_config_parameters(path)]
    assert found == [], "\n".join(found)


def test_the_whole_config_parameter_check_can_fail(tmp_path: Path) -> None:
    mod = tmp_path / "stage.py"
    mod.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from vidrestore.config import Config as C\n"
                   "def build(cfg: 'C', n: int) -> None: ...\ndef fine(film: object) -> None: ...\n")
    assert whole_config_parameters(mod) == ["stage.py:4 build(cfg)"]


def test_every_allowed_exception_still_exists() -> None:
    """An entry whose import is gone must leave the list, so the list only shrinks."""
    modules = all_modules()
    stale = [pair for pair in ALLOWED if pair[0] not in modules
             or pair[1] not in imports_of(pair[0], modules[pair[0]], modules)]
    assert stale == [], f"remove from ALLOWED: {stale}"


# ----------------------------------------------------------------- the walker itself


def test_the_walker_skips_type_checking_and_counts_lazy_imports(tmp_path: Path) -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from vidrestore.types import Frame\n"
        "from . import stage\n"
        "if TYPE_CHECKING:\n"
        "    from vidrestore.config import Config\n"
        "else:\n"
        "    import vidrestore.errors\n"
        "def build():\n"
        "    from vidrestore.pipeline import chain\n"
        "    from ..io import writer\n"
    )
    path = tmp_path / "x.py"
    path.write_text(source, encoding="utf-8")
    modules = all_modules()
    found = imports_of("vidrestore.io.x", path, modules)
    assert found == {"vidrestore.types", "vidrestore.io", "vidrestore.errors", "vidrestore.pipeline.chain",
                     "vidrestore.io.writer"}
    assert whole_config_imports("vidrestore.io.x", path, modules) == []  # only under TYPE_CHECKING
    stage = tmp_path / "stage.py"
    stage.write_text("from vidrestore.decloud.config import DecloudConfig\n"
                     "def build(cfg):\n"
                     "    from vidrestore.config import Config\n", encoding="utf-8")
    assert whole_config_imports("vidrestore.decloud.stage", stage, modules) == ["vidrestore.config"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
