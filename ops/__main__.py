"""python -m ops <command> ...: one subparser per command module, each with add_parser(subparsers) and run(args)."""
import argparse
import sys

from ops import bootstrap, lock, logs, promote, status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description="CAMS deploy: the operator's commands "
                                                                       "(docs/runbook.md)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (status, logs, lock, promote, bootstrap):
        command.add_parser(subparsers)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
