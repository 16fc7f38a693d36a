"""Argument specs are the contract of a role (roles/<role>/meta/argument_specs.yml).

For every role that has argument specs:
  * defaults/main.yml and the specs' `default`s agree, value for value (loaded YAML; Jinja compares as raw text);
  * `required: true` options have no default, neither in the spec nor in defaults/main.yml;
  * every option has a `type` and a description, and list options their `elements`;
  * no two options of a role share a description (copied descriptions that say the wrong thing were a past defect);
  * the role's README.md is what scripts/role-docs.py generates from the specs.

The roles are discovered when the tests run, so the checks follow whatever roles exist. The self-tests at the end
run the same checks on roles crafted in a tmp dir: they pass on a correct role and catch each kind of error.
"""

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLES_DIR = ROOT / "roles"
ROLE_DOCS = ROOT / "scripts" / "role-docs.py"

# How roles and their specs are found and read: the README generator's own functions.
_spec = importlib.util.spec_from_file_location("role_docs", ROLE_DOCS)
role_docs_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(role_docs_module)
spec_path, roles_with_specs, load_yaml = (
    role_docs_module.spec_file, role_docs_module.roles_with_specs, role_docs_module.load_yaml
)


# ---------------------------------------------------------------- loading


def load_specs(role_dir: Path) -> dict:
    """entry point -> {option name -> option spec}, in spec order."""
    data = load_yaml(spec_path(role_dir)) or {}
    entry_points = data.get("argument_specs") or {}
    return {name: (spec or {}).get("options") or {} for name, spec in entry_points.items()}


def load_defaults(role_dir: Path) -> dict:
    """defaults/main.yml (or main.yaml, or the files of a defaults/main/ directory, merged in name order)."""
    defaults_dir = role_dir / "defaults"
    for name in ("main.yml", "main.yaml"):
        if (defaults_dir / name).is_file():
            return load_yaml(defaults_dir / name) or {}
    merged = {}
    if (defaults_dir / "main").is_dir():
        for path in sorted((defaults_dir / "main").iterdir()):
            if path.suffix in (".yml", ".yaml") and path.is_file():
                merged.update(load_yaml(path) or {})
    return merged


def walk(options: dict, prefix: str = ""):
    """(name, spec, top level?) for every option; nested ones right after their parent, named as in the README:
    parent[].name under a list, parent.name under a dict."""
    for name, spec in (options or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        full = f"{prefix}{name}"
        yield full, spec, not prefix
        if isinstance(spec.get("options"), dict):
            yield from walk(spec["options"], f"{full}[]." if spec.get("type") == "list" else f"{full}.")


def text_of(description) -> str:
    if isinstance(description, (list, tuple)):
        description = " ".join(str(item) for item in description if item is not None)
    return " ".join(str(description or "").split())


def same(a, b) -> bool:
    """Equal as loaded YAML values, types included (True is not 1, "8080" is not 8080)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def where(role: str, entry_points, option: str) -> str:
    if isinstance(entry_points, str):
        entry_points = [entry_points]
    plural = "s" if len(entry_points) > 1 else ""
    return f"role {role}, entry point{plural} {', '.join(entry_points)}, option {option}"


# ---------------------------------------------------------------- checks (each returns a list of problems)


def check_defaults(role_dir: Path) -> list[str]:
    """defaults/main.yml and the specs' `default`s agree (required options are check_required's business)."""
    role, specs, defaults = role_dir.name, load_specs(role_dir), load_defaults(role_dir)
    problems = []
    for var, value in defaults.items():
        listing = [ep for ep, options in specs.items() if var in options]
        if not listing:
            problems.append(f"role {role}: defaults/main.yml sets {var} = {value!r}, which is not an option of any "
                            f"entry point ({', '.join(specs) or 'none'})")
        grouped: dict[str, list[str]] = {}  # the same finding in several entry points is reported once
        for ep in listing:
            spec = specs[ep][var] or {}
            if spec.get("required") is True:
                continue
            if "default" not in spec:
                finding = f"no `default` in the spec; defaults/main.yml has {value!r}"
            elif not same(spec["default"], value):
                finding = f"spec `default` {spec['default']!r} differs from defaults/main.yml {value!r}"
            else:
                continue
            grouped.setdefault(finding, []).append(ep)
        problems += [f"{where(role, eps, var)}: {finding}" for finding, eps in grouped.items()]
    for ep, options in specs.items():
        for name, spec in options.items():
            if isinstance(spec, dict) and "default" in spec and name not in defaults:
                problems.append(f"{where(role, ep, name)}: spec has `default` {spec['default']!r} but "
                                f"defaults/main.yml does not set {name}")
    return problems


def check_required(role_dir: Path) -> list[str]:
    role, specs, defaults = role_dir.name, load_specs(role_dir), load_defaults(role_dir)
    problems = []
    for ep, options in specs.items():
        for name, spec, top in walk(options):
            if spec.get("required") is not True:
                continue
            if "default" in spec:
                problems.append(f"{where(role, ep, name)}: `required: true` but the spec has `default` "
                                f"{spec['default']!r}")
            if top and name in defaults:
                problems.append(f"{where(role, ep, name)}: `required: true` but defaults/main.yml sets it to "
                                f"{defaults[name]!r} (a default makes it never missing)")
    return problems


def check_documented(role_dir: Path) -> list[str]:
    role, specs = role_dir.name, load_specs(role_dir)
    problems = []
    for ep, options in specs.items():
        for name, spec, _ in walk(options):
            if not spec.get("type"):
                problems.append(f"{where(role, ep, name)}: no `type`")
            if not text_of(spec.get("description")):
                problems.append(f"{where(role, ep, name)}: no description")
            if spec.get("type") == "list" and not spec.get("elements"):
                problems.append(f"{where(role, ep, name)}: `type: list` without `elements`")
    return problems


def check_unique_descriptions(role_dir: Path) -> list[str]:
    role, specs = role_dir.name, load_specs(role_dir)
    by_text: dict[str, dict[str, list[str]]] = {}  # description -> option -> entry points
    for ep, options in specs.items():
        for name, spec, _ in walk(options):
            text = text_of(spec.get("description"))
            if text:
                by_text.setdefault(text, {}).setdefault(name, []).append(ep)
    problems = []
    for text, owners in by_text.items():
        if len(owners) > 1:
            named = "; ".join(f"option {name} (entry point {', '.join(eps)})" for name, eps in owners.items())
            problems.append(f"role {role}: {len(owners)} options share the description {text!r}: {named}. "
                            f"Each option needs a description of its own.")
    return problems


CHECKS = {
    "defaults": check_defaults,
    "required": check_required,
    "documented": check_documented,
    "unique descriptions": check_unique_descriptions,
}


def fail_on(problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems), pytrace=False)


def role_docs(*args: str, roles_dir: Path = ROLES_DIR) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROLE_DOCS), *args, "--roles-dir", str(roles_dir)],
                          capture_output=True, text=True, cwd=ROOT)


# ---------------------------------------------------------------- the repository's roles

ROLES = roles_with_specs(ROLES_DIR)


@pytest.mark.parametrize("check", [check_defaults, check_required, check_documented, check_unique_descriptions],
                         ids=["defaults-agree", "required-have-no-default", "documented", "descriptions-not-copied"])
@pytest.mark.parametrize("role_dir", ROLES, ids=[r.name for r in ROLES])
def test_argument_specs_are_the_contract(role_dir, check):
    fail_on(check(role_dir))


def test_role_readmes_are_current():
    result = role_docs("--check")
    if result.returncode != 0:
        pytest.fail(f"scripts/role-docs.py --check exited {result.returncode}:\n{result.stdout}{result.stderr}",
                    pytrace=False)


# ---------------------------------------------------------------- self-tests on crafted roles

GOOD_META = """\
---
galaxy_info:
  role_name: widget
  author: test
  description: >-
    Installs the widget | the gadget.
dependencies: []
"""

GOOD_SPECS = """\
---
argument_specs:
  main:
    short_description: Set up the widget.
    description:
      - Installs the widget.
      - Sets the fact C(widget_ready).
    options:
      widget_name:
        type: str
        required: true
        description: Name of the widget.
      widget_port: &widget_port
        type: int
        default: 8080
        description: TCP port the widget listens on.
      widget_url:
        type: str
        default: "http://{{ inventory_hostname }}:{{ widget_port }}/"
        description: URL the widget is reached at.
      widget_mode:
        type: str
        default: fast
        choices: [fast, safe]
        description: How the widget runs.
      widget_enabled:
        type: bool
        default: true
        description: Whether the widget starts at boot.
      widget_tags:
        type: list
        elements: str
        default: [a, b]
        description: Tags | labels of the widget.
      widget_users:
        type: list
        elements: dict
        default: []
        description: Accounts of the widget.
        options:
          name:
            type: str
            required: true
            description: Account name.
          groups:
            type: list
            elements: str
            default: []
            description: Groups the account belongs to.
  reload:
    short_description: Reload the widget.
    options:
      widget_port: *widget_port
"""

GOOD_DEFAULTS = """\
---
widget_port: 8080
widget_url: "http://{{ inventory_hostname }}:{{ widget_port }}/"
widget_mode: fast
widget_enabled: true
widget_tags:
  - a
  - b
widget_users: []
"""


def make_role(roles_dir: Path, name: str = "widget", specs=GOOD_SPECS, defaults=GOOD_DEFAULTS, meta=GOOD_META) -> Path:
    """A role in roles_dir; specs and defaults are YAML text or Python data."""
    role = roles_dir / name
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    for path, content in ((role / "meta" / "argument_specs.yml", specs), (role / "defaults" / "main.yml", defaults),
                          (role / "meta" / "main.yml", meta)):
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    return role


def good(kind: str) -> dict:
    return copy.deepcopy(yaml.safe_load({"specs": GOOD_SPECS, "defaults": GOOD_DEFAULTS}[kind]))


def problems_of(role: Path) -> dict[str, list[str]]:
    return {name: check(role) for name, check in CHECKS.items()}


def only(role: Path, check: str) -> list[str]:
    """The problems of one check; every other check must find nothing."""
    found = problems_of(role)
    assert {k: v for k, v in found.items() if k != check and v} == {}
    assert found[check], f"check {check!r} found nothing"
    return found[check]


def test_self_correct_role_passes_every_check(tmp_path):
    role = make_role(tmp_path)
    assert problems_of(role) == {name: [] for name in CHECKS}
    assert role_docs(roles_dir=tmp_path).returncode == 0
    assert role_docs("--check", roles_dir=tmp_path).returncode == 0


def test_self_defaults_variable_that_is_no_option(tmp_path):
    defaults = good("defaults") | {"widget_secret_sauce": 1}
    assert only(make_role(tmp_path, defaults=defaults), "defaults") == [
        "role widget: defaults/main.yml sets widget_secret_sauce = 1, which is not an option of any entry point "
        "(main, reload)"]


def test_self_option_without_default_in_one_entry_point(tmp_path):
    specs = good("specs")
    port = {"type": "int", "description": "TCP port the widget listens on."}
    specs["argument_specs"]["reload"]["options"]["widget_port"] = port
    assert only(make_role(tmp_path, specs=specs), "defaults") == [
        "role widget, entry point reload, option widget_port: no `default` in the spec; defaults/main.yml has 8080"]


def test_self_default_differs_in_every_entry_point_listing_it(tmp_path):
    defaults = good("defaults") | {"widget_port": 9090}
    assert only(make_role(tmp_path, defaults=defaults), "defaults") == [
        "role widget, entry points main, reload, option widget_port: spec `default` 8080 differs from "
        "defaults/main.yml 9090"]


@pytest.mark.parametrize("var, value", [
    ("widget_enabled", 1),  # 1 == True in Python, but not the same YAML value
    ("widget_port", "8080"),
    ("widget_url", "http://{{inventory_hostname}}:{{ widget_port }}/"),  # Jinja compares as raw text
    ("widget_tags", ["b", "a"]),
])
def test_self_default_differs_by_type_or_raw_text(tmp_path, var, value):
    problems = only(make_role(tmp_path, defaults=good("defaults") | {var: value}), "defaults")
    assert len(problems) == 1
    assert f"option {var}: spec `default`" in problems[0] and "differs from defaults/main.yml" in problems[0]


def test_self_spec_default_missing_from_defaults(tmp_path):
    defaults = good("defaults")
    del defaults["widget_mode"]
    assert only(make_role(tmp_path, defaults=defaults), "defaults") == [
        "role widget, entry point main, option widget_mode: spec has `default` 'fast' but defaults/main.yml does "
        "not set widget_mode"]


def test_self_required_option_in_defaults(tmp_path):
    defaults = good("defaults") | {"widget_name": "w1"}
    assert only(make_role(tmp_path, defaults=defaults), "required") == [
        "role widget, entry point main, option widget_name: `required: true` but defaults/main.yml sets it to 'w1' "
        "(a default makes it never missing)"]


def test_self_required_option_with_spec_default(tmp_path):
    specs = good("specs")
    options = specs["argument_specs"]["main"]["options"]
    options["widget_users"]["options"]["name"]["default"] = "admin"
    assert only(make_role(tmp_path, specs=specs), "required") == [
        "role widget, entry point main, option widget_users[].name: `required: true` but the spec has "
        "`default` 'admin'"]


def test_self_required_option_with_default_everywhere(tmp_path):
    specs = good("specs")
    specs["argument_specs"]["main"]["options"]["widget_name"]["default"] = "w1"
    found = problems_of(make_role(tmp_path, specs=specs, defaults=good("defaults") | {"widget_name": "w1"}))
    assert found["required"] == [
        "role widget, entry point main, option widget_name: `required: true` but the spec has `default` 'w1'",
        "role widget, entry point main, option widget_name: `required: true` but defaults/main.yml sets it to 'w1' "
        "(a default makes it never missing)"]
    assert found["defaults"] == []  # no contradictory "add a default" advice for a required option


def test_self_undocumented_options(tmp_path):
    specs = good("specs")
    options = specs["argument_specs"]["main"]["options"]
    del options["widget_mode"]["type"]
    options["widget_url"]["description"] = []
    del options["widget_tags"]["elements"]
    del options["widget_users"]["options"]["groups"]["elements"]
    options["widget_users"]["options"]["name"]["description"] = "  "
    assert only(make_role(tmp_path, specs=specs), "documented") == [
        "role widget, entry point main, option widget_url: no description",
        "role widget, entry point main, option widget_mode: no `type`",
        "role widget, entry point main, option widget_tags: `type: list` without `elements`",
        "role widget, entry point main, option widget_users[].name: no description",
        "role widget, entry point main, option widget_users[].groups: `type: list` without `elements`",
    ]


def test_self_copied_descriptions(tmp_path):
    specs = good("specs")
    options = specs["argument_specs"]["main"]["options"]
    options["widget_url"]["description"] = ["TCP port", "the widget  listens on."]  # a list joins with spaces
    options["widget_users"]["options"]["groups"]["description"] = "Account name."
    assert only(make_role(tmp_path, specs=specs), "unique descriptions") == [
        "role widget: 2 options share the description 'TCP port the widget listens on.': option widget_port "
        "(entry point main, reload); option widget_url (entry point main). Each option needs a description of its own.",
        "role widget: 2 options share the description 'Account name.': option widget_users[].name (entry point main); "
        "option widget_users[].groups (entry point main). Each option needs a description of its own.",
    ]


def test_self_same_option_in_several_entry_points_is_no_copy(tmp_path):
    assert check_unique_descriptions(make_role(tmp_path)) == []  # widget_port is in main and reload


# ---------------------------------------------------------------- self-tests of scripts/role-docs.py

EXPECTED_README = """\
<!-- Generated by scripts/role-docs.py from meta/argument_specs.yml; do not edit. -->

# widget

Installs the widget | the gadget.

## Entry points

### Entry point: `main`

Set up the widget.

Installs the widget.

Sets the fact `widget_ready`.

| Option | Type | Required | Default | Choices | Description |
|---|---|---|---|---|---|
| `widget_name` | str | yes |  |  | Name of the widget. |
| `widget_port` | int | no | `8080` |  | TCP port the widget listens on. |
| `widget_url` | str | no | `"http://{{ inventory_hostname }}:{{ widget_port }}/"` |  | URL the widget is reached at. |
| `widget_mode` | str | no | `"fast"` | `"fast"`, `"safe"` | How the widget runs. |
| `widget_enabled` | bool | no | `true` |  | Whether the widget starts at boot. |
| `widget_tags` | list of str | no | `["a", "b"]` |  | Tags \\| labels of the widget. |
| `widget_users` | list of dict | no | `[]` |  | Accounts of the widget. |
| &nbsp;&nbsp;&nbsp;&nbsp;`widget_users[].name` | str | yes |  |  | Account name. |
| &nbsp;&nbsp;&nbsp;&nbsp;`widget_users[].groups` | list of str | no | `[]` |  | Groups the account belongs to. |

### Entry point: `reload`

Reload the widget.

| Option | Type | Required | Default | Description |
|---|---|---|---|---|
| `widget_port` | int | no | `8080` | TCP port the widget listens on. |
"""


def test_self_role_docs_check_writes_nothing_and_lists_every_stale_readme(tmp_path):
    make_role(tmp_path, "alpha")
    make_role(tmp_path, "beta")
    (tmp_path / "no_specs" / "tasks").mkdir(parents=True)  # roles without argument specs are left alone
    result = role_docs("--check", roles_dir=tmp_path)
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("stale:")] == [
        f"stale: {tmp_path / role / 'README.md'} (run scripts/role-docs.py --roles-dir {tmp_path})"
        for role in ("alpha", "beta")]
    assert sorted(p.name for p in tmp_path.rglob("README.md")) == []


def test_self_role_docs_writes_the_readme_deterministically(tmp_path):
    readme = make_role(tmp_path) / "README.md"
    (tmp_path / "no_specs" / "tasks").mkdir(parents=True)
    assert role_docs(roles_dir=tmp_path).returncode == 0
    assert readme.read_text() == EXPECTED_README
    assert not (tmp_path / "no_specs" / "README.md").exists()
    first = readme.read_bytes()
    assert role_docs(roles_dir=tmp_path).returncode == 0
    assert readme.read_bytes() == first
    assert role_docs("--check", roles_dir=tmp_path).returncode == 0


def test_self_role_docs_check_catches_an_edited_or_outdated_readme(tmp_path):
    role = make_role(tmp_path)
    assert role_docs(roles_dir=tmp_path).returncode == 0
    readme = role / "README.md"
    readme.write_text(readme.read_text() + "\nHand-written notes.\n")
    assert role_docs("--check", roles_dir=tmp_path).returncode == 1
    assert role_docs(roles_dir=tmp_path).returncode == 0
    specs = role / "meta" / "argument_specs.yml"
    specs.write_text(specs.read_text().replace("How the widget runs.", "How the widget runs, fast or safe."))
    result = role_docs("--check", roles_dir=tmp_path)
    assert result.returncode == 1 and "stale:" in result.stderr and "widget/README.md" in result.stderr
    assert "How the widget runs, fast or safe." not in readme.read_text()  # --check wrote nothing
