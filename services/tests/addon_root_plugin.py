"""Pytest plugin: collect the repository root and ``services`` as plain directories.

The repository root is the Odoo addon, so its ``__init__.py`` imports Odoo. Pytest would import
``services`` as ``<root>.services`` and, before that, the root package itself, which fails where
Odoo is not installed. As plain directories, neither is imported by the collector; the tests
import ``services`` as a top-level package (the root is on ``sys.path``).
"""

from pathlib import Path

import pytest

ADDON_ROOT = Path(__file__).resolve().parents[2]
PLAIN_DIRECTORIES = {ADDON_ROOT, ADDON_ROOT / 'services'}


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path, parent):
    if path in PLAIN_DIRECTORIES:
        return pytest.Dir.from_parent(parent, path=path)
    return None
