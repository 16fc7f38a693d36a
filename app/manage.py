#!/usr/bin/env python
"""Django's command-line utility for the CAMS backend."""

import os
import sys


def main():
    # Local development is the only safe default; hosts always set the module explicitly.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
