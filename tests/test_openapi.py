"""The generated service's OpenAPI document is valid and documents what its middleware answers.

The authentication, quota and body-limit middleware answer before any route
runs, so FastAPI cannot see those statuses; each route declares them. This
checks, for the defaults and for every toggle on, that the document validates
as the OpenAPI version it declares and that every operation of the guarded
API lists them: 401 and 429 (400 and 413 too where it takes a body).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

Services = Callable[[str], tuple[Path, dict[str, str]]]
GUARDED_PREFIXES = ("/api/v1/", "/v1/")


@pytest.mark.slow
@pytest.mark.xdist_group("rendered-services")
@pytest.mark.parametrize("name", ["defaults", "every-toggle"])
def test_the_document_is_valid_and_lists_every_middleware_answer(
    rendered_services: Services, name: str
) -> None:
    project, env = rendered_services(name)
    written = subprocess.run(
        ["uv", "run", "--no-sync", "my-service", "openapi"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(written.stdout)
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()
    missing: dict[str, list[str]] = {}
    for path, operations in document["paths"].items():
        if not path.startswith(GUARDED_PREFIXES):
            continue
        for method, operation in operations.items():
            expected = {"401", "429"}
            if method in {"post", "put", "patch"}:
                expected |= {"400", "413"}
            undocumented = sorted(expected - set(operation["responses"]))
            if undocumented:
                missing[f"{method.upper()} {path}"] = undocumented
    assert not missing, f"statuses the service sends but does not document: {missing}"
