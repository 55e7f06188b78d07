"""Fixtures for the reliability suite: the figures-script functions, run small, on copies of the sample KB."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def rel():
    """eval.reliability: the same functions `python -m eval.reliability` runs with large sizes."""
    import eval.reliability as module

    return module
