"""python -m ops <command> ...: one subparser per command module (each exposes add_parser and run)."""
import argparse
import sys

from ops import bootstrap, promote


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description="CAMS deploy: the operator's commands")
    subparsers = parser.add_subparsers(dest="command", required=True)
    promote.add_parser(subparsers)
    bootstrap.add_parser(subparsers)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
