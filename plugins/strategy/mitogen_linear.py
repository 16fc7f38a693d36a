"""Mitogen's linear strategy (ansible.cfg's `strategy`), loaded from the installed ansible_mitogen package.

Mitogen documents pointing `strategy_plugins` at the package's directory, a path into the virtualenv that depends on
where it was made and with which Python; this file lets ansible.cfg name a path inside the repository instead.
"""
from ansible.collections.list import list_collection_dirs
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
