"""Mitogen's linear strategy (ansible.cfg's `strategy`), loaded from the installed ansible_mitogen package.

Mitogen documents pointing `strategy_plugins` at the package's directory, a path into the virtualenv that depends on
where it was made and with which Python; this file lets ansible.cfg name a path inside the repository instead.
"""
from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401  (the plugin Ansible loads)
