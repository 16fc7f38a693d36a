"""The operator's commands (python -m ops <command>; make status, logs, lock, promote, bootstrap).

Shared design: /work/helpers/ops-interface.md; what each command does for the operator: docs/runbook.md."""
