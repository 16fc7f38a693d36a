"""Mitogen's linear strategy (ansible.cfg's `strategy`), loaded from the installed ansible_mitogen package.

Mitogen documents pointing `strategy_plugins` at the package's directory, a path into the virtualenv that depends on
where it was made and with which Python; this file lets ansible.cfg name a path inside the repository instead.
"""
import builtins
import hashlib
import marshal
import os
import pathlib
import shutil
import sys
import threading

import ansible_mitogen.module_finder
import ansible_mitogen.transport_config
import mitogen
import mitogen.master
import mitogen.minify
from ansible.collections.list import list_collection_dirs
from ansible.release import __version__ as ansible_core_version
from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule as MitogenLinearStrategy

# Modules that ship with ansible-core, outside any installed collection.
CORE_ACTION_PREFIXES = ("ansible.builtin.", "ansible.legacy.")


class StrategyModule(MitogenLinearStrategy):
    """Mitogen's linear strategy, with the installed collections listed once, in the process that forks the workers.

    For every task that runs a collection's module, Mitogen's planner lists the installed collections (its
    `_load_collections`) in the worker Ansible forks for that one task, where the listing's caches die with the worker:
    0.2 s a task with the ~90 collections of the `ansible` package. Workers forked after a listing here inherit its
    caches, and theirs takes 0.03 s. The listing itself reads every collection's meta/runtime.yml, 0.45 s: it happens
    before the first task of a collection, so a run without one (a code-only deploy) does not pay it.
    """

    collections_listed = False

    def _queue_task(self, host, task, task_vars, play_context):
        runs_a_collection = "." in task.action and not task.action.startswith(CORE_ACTION_PREFIXES)
        if runs_a_collection and not StrategyModule.collections_listed:
            list(list_collection_dirs())
            StrategyModule.collections_listed = True
        return super()._queue_task(host, task, task_vars, play_context)


def without_ssh_compression_by_default(spec_class):
    """Mitogen compresses what it sends with zlib already: SSH's compression on top (Mitogen's default) only costs CPU
    at both ends, 0.15 s of a host's in a code-only deploy. mitogen_ssh_compression in an inventory still decides.
    Patched in the spec, not set as a task variable: a delegated task reads the delegated host's variables, and a
    setting that differed there would open that host a second connection."""
    configured = spec_class.mitogen_ssh_compression

    def mitogen_ssh_compression(self):
        setting = configured(self)
        return False if setting is None else setting

    spec_class.mitogen_ssh_compression = mitogen_ssh_compression


for spec_class in (ansible_mitogen.transport_config.PlayContextSpec, ansible_mitogen.transport_config.MitogenViaSpec):
    without_ssh_compression_by_default(spec_class)


class SourceMemo:
    """Results of pure functions of a Python source file, kept on disk from one run to the next.

    Mitogen's multiplexer compiles the source of every module it sends to a host, only to list the module's imports
    (its `ModuleFinder.find_related_imports`, and `module_finder.scan` for Ansible's modules), and strips the comments
    of its own modules by tokenizing them (`minify.minimize_source`). It does so again in every run: 2.5 s of the
    control node's CPU in a code-only deploy, the same sources each time. Results are keyed by the whole input; one
    directory per Python, Mitogen and ansible-core, and a new one replaces the others. The cache only ever saves
    work: a file it cannot read or write means computing the result, as without it.
    """

    def __init__(self, base):
        self.base = base
        self.root = base / (
            f"{sys.implementation.cache_tag}-mitogen-{'.'.join(map(str, mitogen.__version__))}"
            f"-ansible-core-{ansible_core_version}"
        )

    def get(self, kind, key_parts, compute):
        key = hashlib.sha256(b"\0".join(key_parts)).hexdigest()
        path = self.root / kind / key
        try:
            return marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            value = compute()
        try:
            if not self.root.is_dir():
                self.forget_other_versions()
            path.parent.mkdir(parents=True, exist_ok=True)
            # Mitogen's service threads may compute the same result at once; each writes its own file, then renames.
            partial = path.with_name(f"{key}.{os.getpid()}.{threading.get_ident()}")
            partial.write_bytes(marshal.dumps(value))
            os.replace(partial, path)
        except OSError:
            pass
        return value

    def forget_other_versions(self):
        for other in self.base.glob("*"):
            shutil.rmtree(other, ignore_errors=True)


MEMO = SourceMemo(pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "cams-deploy"
                  / "mitogen")
minimize_source_uncached = mitogen.minify.minimize_source


def as_bytes(source):
    return source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")


def compile_memoized(source, filename, mode):
    """compile(), for callers that only read the code object's imports."""
    return MEMO.get("code", [os.fsencode(filename), mode.encode(), as_bytes(source)],
                    lambda: builtins.compile(source, filename, mode))


def minimize_source_memoized(source):
    return MEMO.get("minified", [as_bytes(source)], lambda: minimize_source_uncached(source))


# The multiplexer forks from this process after the strategy loads, so it inherits these.
mitogen.master.compile = compile_memoized
ansible_mitogen.module_finder.compile = compile_memoized
mitogen.minify.minimize_source = minimize_source_memoized
