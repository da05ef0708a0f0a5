"""Fixtures for the Data Box tests (helpers in databox_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from databox_helpers import DataBoxEnv, make_env


@pytest.fixture
def dbx(sandbox: Any) -> Iterator[DataBoxEnv]:
    """A fresh subscription with a resource group, a storage account and Microsoft.DataBox registered."""
    sandbox.control.clear_faults()
    env = make_env(sandbox)
    yield env
    env.http.close()
    sandbox.control.clear_faults()


@pytest.fixture(scope="module")
def dbx_shared(sandbox: Any) -> Iterator[DataBoxEnv]:
    """One such subscription for a whole module (for tests that only read, or use unique names)."""
    env = make_env(sandbox)
    yield env
    env.http.close()
