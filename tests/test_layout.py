"""The shape of the house, read from the source (static AST walk, nothing imported):
no import circles, small modules and functions, leaves that stay leaves, tests that share only
tests/support. Every import counts, module-level or inside a function."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = ["pipeline", "spiders", "db", "plugins", "bench"]
MAX_MODULE_LINES = 400  # for modules in pipeline/
MAX_FUNCTION_LINES = 60  # for functions in pipeline/stories/
# Leaves import nothing of the project (db/ may use db/, nothing above it).
LEAVES = {"pipeline.paths": set(), "pipeline.dates": set(), "pipeline.urls": set(), "pipeline.language": set(),
          "db": {"db"}}


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(*folders):
    """{dotted name: path} for every .py file under `folders`."""
    return {module_name(p): p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))
            if "__pycache__" not in p.parts}


def imported_names(path):
    """Every dotted name `path` imports, wherever the import statement is; relative imports resolved.
    `from a.b import c` yields a.b.c as well as a.b: the caller keeps what is a module."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def project_edges(known):
    """{module: {project modules it imports}}: a name resolves to the longest known module it names."""
    edges = {}
    for name, path in known.items():
        targets = set()
        for imported in imported_names(path):
            parts = imported.split(".")
            for i in range(len(parts), 0, -1):
                candidate = ".".join(parts[:i])
                if candidate in known:
                    targets.add(candidate)
                    break
        targets.discard(name)
        edges[name] = targets
    return edges


def circles(edges):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_cycle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_among_project_modules():
    found = circles(project_edges(modules(*PROJECT)))
    assert found == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_leaves_import_nothing_of_the_project_above_them():
    edges = project_edges(modules(*PROJECT))
    wrong = {}
    for name, targets in edges.items():
        for leaf, allowed in LEAVES.items():
            if name == leaf or name.startswith(leaf + "."):
                bad = sorted(t for t in targets if t.split(".")[0] not in allowed and t != name)
                if bad:
                    wrong[name] = bad
    assert wrong == {}


def test_no_module_in_pipeline_is_over_400_lines():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules("pipeline").items()}
    assert {n: s for n, s in sizes.items() if s > MAX_MODULE_LINES} == {}


def test_no_function_in_pipeline_stories_is_over_60_lines():
    long = {}
    for name, path in modules("pipeline/stories").items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{name}.{node.name}:{node.lineno}"] = lines
    assert long == {}


@pytest.mark.parametrize("folder", ["tests", "bench"])
def test_tests_share_only_tests_support_and_bench_never_imports_tests(folder):
    found = {}
    for name, path in modules(folder).items():
        if name.startswith("tests.support"):
            continue
        wrong = {n for n in imported_names(path) if n == "tests" or n.startswith("tests.")}
        if folder == "tests":
            wrong = {n for n in wrong if n not in ("tests", "tests.support") and not n.startswith("tests.support.")}
        if wrong:
            found[name] = sorted(wrong)
    assert found == {}
