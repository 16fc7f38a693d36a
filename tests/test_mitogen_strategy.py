"""The strategy plugin's on-disk memo of Mitogen's work on module sources: what a later run reuses, what it recomputes,
and that a cache it cannot use costs nothing but the work."""
import importlib.util
import pathlib

import mitogen.master
import mitogen.minify
import pytest

PROJECT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("cams_mitogen_linear", PROJECT / "plugins/strategy/mitogen_linear.py")
strategy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(strategy)

SOURCE = "import os.path\nfrom json import decoder\n# a comment\nx = 1\n"


class Counted:
    """A computation that counts how often it ran."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


@pytest.fixture
def memo(tmp_path, monkeypatch):
    memo = strategy.SourceMemo(tmp_path / "mitogen")
    monkeypatch.setattr(strategy, "MEMO", memo)
    return memo


def test_a_later_run_reuses_the_result_of_an_earlier_one(tmp_path):
    compute = Counted(("a", 1))
    first_run = strategy.SourceMemo(tmp_path)
    assert first_run.get("kind", [b"key"], compute) == ("a", 1)
    later_run = strategy.SourceMemo(tmp_path)
    assert later_run.get("kind", [b"key"], compute) == ("a", 1)
    assert compute.calls == 1


def test_another_input_is_computed_again(memo):
    compute = Counted("value")
    memo.get("kind", [b"file.py", b"source"], compute)
    memo.get("kind", [b"file.py", b"source changed"], compute)
    memo.get("other kind", [b"file.py", b"source"], compute)
    assert compute.calls == 3


def test_an_unreadable_entry_is_computed_and_written_again(memo):
    memo.get("kind", [b"key"], Counted("value"))
    (entry,) = (memo.root / "kind").iterdir()
    entry.write_bytes(b"\xff truncated")
    compute = Counted("value")
    assert memo.get("kind", [b"key"], compute) == "value"
    assert compute.calls == 1
    assert strategy.SourceMemo(memo.base).get("kind", [b"key"], compute) == "value"
    assert compute.calls == 1


def test_a_cache_that_cannot_be_written_still_gives_the_result(tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    memo = strategy.SourceMemo(blocked / "mitogen")
    compute = Counted("value")
    assert memo.get("kind", [b"key"], compute) == "value"
    assert memo.get("kind", [b"key"], compute) == "value"
    assert compute.calls == 2


def test_the_first_entry_of_a_new_version_removes_the_other_versions(memo):
    older = memo.base / "cpython-39-mitogen-0.3.1-ansible-core-2.15.0"
    (older / "code").mkdir(parents=True)
    (older / "code" / "entry").write_bytes(b"stale")
    memo.get("kind", [b"key"], Counted("value"))
    assert [path.name for path in memo.base.iterdir()] == [memo.root.name]


def test_memoized_compile_lists_the_same_imports_as_compile(memo):
    compiled = compile(SOURCE, "module.py", "exec")
    for _ in range(2):
        memoized = strategy.compile_memoized(SOURCE.encode(), "module.py", "exec")
        assert memoized.co_names == compiled.co_names
        assert memoized.co_consts == compiled.co_consts
        assert memoized.co_filename == "module.py"


def test_memoized_minify_strips_as_mitogen_does(memo):
    expected = strategy.minimize_source_uncached(SOURCE)
    assert "a comment" not in expected
    assert strategy.minimize_source_memoized(SOURCE) == expected
    assert strategy.minimize_source_memoized(SOURCE.encode()) == expected


def test_mitogen_calls_the_memoized_functions():
    assert mitogen.master.compile is strategy.compile_memoized
    assert mitogen.minify.minimize_source is strategy.minimize_source_memoized



@pytest.mark.parametrize(("setting", "compressed"), [(None, False), (True, True), (False, False)])
def test_ssh_compression_is_off_unless_the_inventory_turns_it_on(setting, compressed):
    # The host's own variables (MitogenViaSpec) or the task's, which are the delegated host's for a delegated task.
    spec = object.__new__(strategy.ansible_mitogen.transport_config.MitogenViaSpec)
    spec._host_vars = {} if setting is None else {"mitogen_ssh_compression": setting}
    assert spec.mitogen_ssh_compression() is compressed
