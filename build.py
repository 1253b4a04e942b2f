#!/usr/bin/env python3
"""Build the fact-check site: `python build.py [build|check|new|serve] --help`."""

import sys

from factsite.cli import main

if __name__ == "__main__":
    sys.exit(main())
