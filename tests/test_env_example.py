"""`.env.example` lists every environment variable the Django settings read.

The names come from the settings modules' source (AST), not from running them: each read (`env.str("X")`, `env("X")`,
`os.environ.get(X)`, `os.getenv(X)`, `os.environ[X]`) has its name expression evaluated, following helper parameters
back to their call sites, so `f"{prefix}_DATABASE_URL"` in `deployed_settings` yields STAGING_ and PROD_DATABASE_URL.
"""

import ast
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "app" / "backend" / "settings"
ENV_EXAMPLE = ROOT / ".env.example"
# django-environ's methods that take a value rather than a variable name.
NOT_READS = {"db_url_config", "cache_url_config", "email_url_config", "search_url_config", "parse_value"}
# String methods a name expression may use (deployed_settings: environment.upper(), removesuffix, rpartition).
STR_METHODS = {"upper", "lower", "strip", "removesuffix", "removeprefix", "rpartition", "partition"}


class SettingsSource:
    def __init__(self, directory: Path):
        self.modules = {
            f"backend.settings.{path.stem}": ast.parse(path.read_text(), str(path))
            for path in sorted(directory.glob("*.py"))
            if path.stem != "__init__"
        }
        self.functions: dict[str, ast.FunctionDef] = {}
        self.enclosing: dict[ast.AST, tuple[str, ast.FunctionDef | None]] = {}
        for module, tree in self.modules.items():
            for node in ast.walk(tree):
                self.enclosing.setdefault(node, (module, None))
                if isinstance(node, ast.FunctionDef):
                    self.functions[node.name] = node
                    for inner in ast.walk(node):
                        self.enclosing[inner] = (module, node)

    def reads(self) -> list[tuple[ast.AST, ast.expr]]:
        """(node, name expression) of every environment read."""
        found = []
        for tree in self.modules.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and node.args and self._is_reader(node.func):
                    found.append((node, node.args[0]))
                elif isinstance(node, ast.Subscript) and _dotted(node.value) == "os.environ":
                    found.append((node, node.slice))
        return found

    @staticmethod
    def _is_reader(func: ast.expr) -> bool:
        name = _dotted(func)
        if name in {"env", "os.environ.get", "os.getenv"}:
            return True
        return isinstance(func, ast.Attribute) and _dotted(func.value) == "env" and func.attr not in NOT_READS

    def names(self, node: ast.AST, expr: ast.expr) -> set[str]:
        module, function = self.enclosing[node]
        return {value for value in self._evaluate(expr, module, function, {}) if isinstance(value, str)}

    def _evaluate(self, expr, module, function, bindings, depth=0) -> set:
        if depth > 20:
            return set()
        again = lambda e, b=bindings, f=function, m=module: self._evaluate(e, m, f, b, depth + 1)  # noqa: E731
        if isinstance(expr, ast.Constant):
            return {expr.value}
        if isinstance(expr, ast.JoinedStr):
            parts = [again(v.value) if isinstance(v, ast.FormattedValue) else again(v) for v in expr.values]
            return {"".join(map(str, combination)) for combination in itertools.product(*parts)}
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return {a + b for a in again(expr.left) for b in again(expr.right) if isinstance(a, str) and isinstance(b, str)}
        if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
            return {value[expr.slice.value] for value in again(expr.value) if isinstance(value, tuple | str)}
        if isinstance(expr, ast.Name):
            if expr.id == "__name__":
                return {module}
            if expr.id in bindings:
                return bindings[expr.id]
            if function is not None:
                return self._local(function, expr.id, module, bindings, depth)
            return set()
        if isinstance(expr, ast.Call):
            if isinstance(expr.func, ast.Attribute) and expr.func.attr in STR_METHODS:
                arguments = [again(a) for a in expr.args]
                return {
                    getattr(value, expr.func.attr)(*combination)
                    for value in again(expr.func.value)
                    if isinstance(value, str)
                    for combination in itertools.product(*arguments)
                }
            if isinstance(expr.func, ast.Name) and expr.func.id in self.functions:
                callee = self.functions[expr.func.id]
                inner = {name: again(arg) for name, arg in self._arguments(callee, expr).items()}
                returned = [n.value for n in ast.walk(callee) if isinstance(n, ast.Return) and n.value is not None]
                callee_module = self.enclosing[callee][0]
                return set().union(*(self._evaluate(r, callee_module, callee, inner, depth + 1) for r in returned))
        return set()

    def _local(self, function, name, module, bindings, depth) -> set:
        """A parameter (its values at every call site, or its default) or a local assignment."""
        parameters = [a.arg for a in function.args.args + function.args.kwonlyargs]
        if name in parameters:
            values = set()
            for caller_node, caller in self._call_sites(function):
                argument = self._arguments(function, caller).get(name)
                if argument is not None:
                    caller_module, caller_function = self.enclosing[caller_node]
                    values |= self._evaluate(argument, caller_module, caller_function, {}, depth + 1)
            return values
        assigned = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ]
        return set().union(*(self._evaluate(v, module, function, bindings, depth + 1) for v in assigned))

    def _call_sites(self, function):
        for tree in self.modules.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function.name:
                    yield node, node

    @staticmethod
    def _arguments(function: ast.FunctionDef, call: ast.Call) -> dict[str, ast.expr]:
        positional = [a.arg for a in function.args.args]
        bound = dict(zip(positional, call.args, strict=False))
        bound.update({k.arg: k.value for k in call.keywords if k.arg})
        return bound


def _dotted(expr: ast.expr) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return f"{_dotted(expr.value)}.{expr.attr}"
    return ""


def settings_variables() -> set[str]:
    source = SettingsSource(SETTINGS)
    names = set()
    for node, expr in source.reads():
        resolved = source.names(node, expr)
        assert resolved, f"cannot tell which variable line {node.lineno} reads: {ast.unparse(node)}"
        names |= resolved
    return names


def env_example_variables(path: Path = ENV_EXAMPLE) -> set[str]:
    """Names set (NAME=value) or listed with their default (# NAME=value)."""
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", path.read_text(), flags=re.MULTILINE))


def test_env_example_lists_every_variable_the_settings_read():
    missing = sorted(settings_variables() - env_example_variables())
    assert not missing, f".env.example does not list: {', '.join(missing)}"


def test_the_reads_behind_helpers_and_per_environment_names_are_found():
    # Through required_env / comma_list / database_config and deployed_settings' f"{prefix}_..." names.
    assert {
        "SECRET_KEY",
        "DEV_DATABASE_URL",
        "STAGING_DATABASE_URL",
        "PROD_DATABASE_URL",
        "PROD_DATABASE_PREVIOUS_PASSWORD",
        "DEV_TEST_DATABASE_URL",
        "STAGING_CSRF_TRUSTED_ORIGINS",
        "JWT_AUTH_ALGORITHM",
    } <= settings_variables()


def test_a_variable_missing_from_env_example_is_named(tmp_path):
    trimmed = tmp_path / ".env.example"
    trimmed.write_text(re.sub(r"^# PROD_DATABASE_PREVIOUS_PASSWORD=.*\n", "", ENV_EXAMPLE.read_text(), flags=re.M))
    assert settings_variables() - env_example_variables(trimmed) == {"PROD_DATABASE_PREVIOUS_PASSWORD"}
