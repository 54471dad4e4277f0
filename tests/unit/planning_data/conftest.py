"""Fixtures for the tenant-file and Excel tests: the shipped tenant files."""

from __future__ import annotations

import pytest

from services.planning.tenant_file import TenantFile, load_tenant_file
from tests.unit.planning_data.shipped import TENANT_CODES, tenant_path


@pytest.fixture(scope="session")
def hanoi() -> TenantFile:
    return load_tenant_file(tenant_path("hanoi"))


@pytest.fixture(scope="session")
def thanhhoa() -> TenantFile:
    return load_tenant_file(tenant_path("thanhhoa"))


@pytest.fixture(scope="session", params=TENANT_CODES)
def tenant(request: pytest.FixtureRequest) -> TenantFile:
    return load_tenant_file(tenant_path(request.param))
