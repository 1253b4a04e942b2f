#!/usr/bin/env python3
"""Build the fact-check site: `python build.py [build|check|new|serve] --help`."""

from factsite.cli import run

if __name__ == "__main__":
    run()
