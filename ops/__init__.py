"""The operator's commands (docs/runbook.md): python -m ops <command> ..., wrapped by the Makefile."""
