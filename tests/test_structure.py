"""The package's shape: sorted, complete public surfaces; arrows point down only."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import finai
from finai import exceptions

SRC = Path(finai.__file__).parent
FACES = ("finai.api", "finai.web", "finai.cli", "finai.demo")
DOMAINS = ("finai.credit", "finai.fraud", "finai.governance", "finai.assist")
PLATFORM = (
    "finai.store",
    "finai.registry",
    "finai.security",
    "finai.datasets",
    "finai.jobs",
    "finai.config",
    "finai.context",
    "finai.exceptions",
)
PACKAGES = [
    "finai.assist",
    "finai.store",
    "finai.registry",
    "finai.security",
    "finai.datasets",
    "finai.credit",
    "finai.fraud",
    "finai.governance",
    "finai.api",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_public_surface_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    # Order is ruff's RUF022 (constants, classes, functions, each sorted), checked by lint.
    assert len(exported) == len(set(exported))
    public = {
        n
        for n, value in vars(module).items()
        if not n.startswith("_") and not isinstance(value, type(module))
    }
    assert set(exported) == public


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [(PLATFORM, FACES + DOMAINS), (DOMAINS, FACES)],
    ids=["platform", "domains"],
)
def test_arrows_point_down(layer: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    offenders = []
    for info in pkgutil.walk_packages([str(SRC)], prefix="finai."):
        if not info.name.startswith(layer):
            continue
        spec = importlib.util.find_spec(info.name)
        assert spec is not None and spec.origin is not None
        for imported in _imports(Path(spec.origin)):
            if imported.startswith(forbidden):
                offenders.append((info.name, imported))
    assert offenders == []


def test_every_error_class_has_a_user_facing_title_and_http_status() -> None:
    from finai.api.errors import status_for

    classes = [
        value
        for value in vars(exceptions).values()
        if isinstance(value, type) and issubclass(value, exceptions.FinAIError)
    ]
    assert len(classes) >= 8
    for cls in classes:
        assert cls.title
        status = status_for(cls("x"))
        assert 400 <= status < 600
    assert status_for(exceptions.ValidationError("x")) == 422
    assert status_for(exceptions.NotFound("x")) == 404
    assert status_for(exceptions.PermissionDenied("x")) == 403
    assert status_for(exceptions.AuthenticationError("x")) == 401
