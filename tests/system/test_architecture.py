"""Static contracts, checked as tests: the dependency direction (pyproject.toml [tool.importlinter]),
ruff lint and format, and mypy --strict over every package."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_nothing_heavy_is_imported_at_import_time() -> None:
    code = (
        "import sys, core.analysis, core.store, ingest.pipeline, search.engine, foerdersuche.cli;"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'qdrant_edge', 'qdrant_client') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


PACKAGES = ("core", "ingest", "search", "runtime", "api", "evaluation", "foerdersuche")


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name(name)
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing_and_the_code_is_formatted() -> None:
    """The lint rules and formatting of pyproject.toml [tool.ruff] hold for the code and the tests."""
    for args in (("check", *PACKAGES, "tests"), ("format", "--check", *PACKAGES, "tests")):
        proc = _tool("ruff", *args)
        assert proc.returncode == 0, f"ruff {' '.join(args)}:\n{proc.stdout}{proc.stderr}"


def test_mypy_strict_finds_nothing() -> None:
    proc = _tool("mypy", *PACKAGES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports, anywhere in the file (functions too), from the source."""
    import ast

    modules: dict[str, Path] = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # "from pkg import mod" imports the module; "from pkg import name" the package
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_in_any_package() -> None:
    """Not even through imports inside functions (a cycle dodged that way is still a cycle)."""
    found = cycles(import_graph())
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.c import x\n")
    (pkg / "c.py").write_text("from .a import y\n")
    (pkg / "d.py").write_text("import pkg.a\n")
    assert cycles(import_graph(tmp_path, ("pkg",))) == [["pkg.a", "pkg.b", "pkg.c"]]


# What only the composition root (``runtime``) builds, and who may build what anyway:
BUILT_BY_THE_ROOT = {
    "Searcher", "Indexer", "Crawler", "open_store", "load_embedder", "load_runtime_embedder", "load_gazetteer",
    "EdgeStore", "RemoteStore",
}  # fmt: skip
ALLOWED = {
    # a store benchmark measures bare engines side by side, not the project's configured store
    ("evaluation/bench/stores.py", "EdgeStore"),
    ("evaluation/bench/stores.py", "RemoteStore"),
    ("evaluation/bench/bm25_edge.py", "EdgeStore"),
    # measures the embedded engine's build beside queries on scratch copies of a kept index
    ("evaluation/bench/optimize_stall.py", "EdgeStore"),
    # reindex sets a damaged or outdated embedded index aside before the root opens the store
    ("foerdersuche/crawl_cmd.py", "EdgeStore"),
    # measures the bare query encoder's memory in a process of its own: importing the root would add
    # the ingest stack to what it measures
    ("evaluation/bench/query_encoder.py", "load_runtime_embedder"),
    # compares the model's backends one by one and quantises a loaded torch model itself
    ("evaluation/bench/model_backends.py", "load_embedder"),
}


def test_only_the_composition_root_builds_the_components() -> None:
    """Searcher, Indexer, Crawler, stores, embedders and the gazetteer are built in ``runtime`` only
    (core builds its own parts: the store factory, the embedder loaders)."""
    import ast

    found = []
    for package in ("ingest", "search", "api", "evaluation", "foerdersuche"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                name = (
                    f.id
                    if isinstance(f, ast.Name)
                    else f.value.id
                    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.attr == "open"
                    else None
                )
                if name in BUILT_BY_THE_ROOT and (rel, name) not in ALLOWED:
                    found.append(f"{rel}:{node.lineno} {name}")
    assert found == [], "built outside the composition root (runtime/):\n" + "\n".join(found)
