"""The tools the browser tests drive are installed (a missing one fails, never skips)."""

import pytest

from .conftest import missing_tools

pytestmark = pytest.mark.browser


def test_tools_are_installed():
    missing = missing_tools()
    assert not missing, "install these before running the browser tests:\n  - " + "\n  - ".join(missing)
