"""The import boundaries: nothing that ships imports the development packages, and the import contracts
(pyproject.toml, checked by `lint-imports`) each fail when the import they forbid appears.

The Lambda handlers (``functions/*/app.py``) are not packages, so import-linter never sees them: they are
parsed here. Whatever they import from the layers' packages is covered by the contracts (a handler importing
``windpitch_batch.run``, which imported the harness, would break "What the Lambda layers ship ...").

Each contract is checked against the project's real import graph with one import added on purpose: the
contract must fail and name that import. A contract that cannot fail is a defect, and so is a contract
without a case here (:func:`test_every_contract_has_a_case_that_breaks_it`).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import api
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import Contract

from tests.conftest import ROOT

# Never in a Lambda: the development harness, the deployment tooling, training and the command line.
DEVELOPMENT = frozenset({"windpitch_local", "windpitch_deploy", "windpitch_train", "windpitch_cli"})
HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))
CONTRACT_TYPES: dict[str, type[Contract]] = {"forbidden": ForbiddenContract, "layers": LayersContract}

# For each contract (by id), imports that must break it: each added alone to the real graph.
BREAKS: dict[str, list[tuple[str, str]]] = {
    "packages": [
        ("windpitch_deploy.layers", "windpitch_local.image"),  # the two packages used to import each other
        ("windpitch_batch.run", "windpitch_train.card"),  # two packages side by side
        ("windpitch_train.train", "windpitch_api.app"),
        ("windpitch_cli.backfill", "windpitch_deploy.image"),
        ("windpitch.runtime", "windpitch_frames.loading"),  # the core reaching up
        ("windpitch_train.train", "windpitch_cli"),  # training reaching up to the command line
    ],
    "layers-no-harness": [
        ("windpitch.runtime", "windpitch_local.runner"),
        ("windpitch_api.routes", "windpitch_local.api"),
        ("windpitch_frames.loading", "windpitch_local.load"),
        ("windpitch_batch.store", "windpitch_local.s3"),
    ],
    "cli-no-harness": [("windpitch_cli.comparison", "windpitch_local.stack")],
    "deploy-no-harness": [("windpitch_deploy.layers", "windpitch_local.image")],
    "core-numpy-only": [("windpitch.runtime", "pandas"), ("windpitch.predict", "boto3")],
    "api-no-frames": [("windpitch_api.routes", "windpitch_frames.loading"), ("windpitch_api.app", "pandas")],
    "frames-no-aws": [("windpitch_frames.loading", "boto3")],
    # The cycle this change broke (train imports card): the per-package contracts get generic cases too.
    "acyclic-windpitch_train": [("windpitch_train.card", "windpitch_train.train")],
}


# The Lambda handlers -----------------------------------------------------------------------------------------


def development_imports(source: str) -> list[str]:
    """The modules of :data:`DEVELOPMENT` that ``source`` imports: ``import``, ``from ... import`` (absolute),
    and ``importlib.import_module`` / ``__import__`` with a literal name, at any depth (in functions too)."""
    named: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            named += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            named.append(node.module)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                named.append(first.value)
    return [name for name in named if name.split(".")[0] in DEVELOPMENT]


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def test_the_handlers_are_found() -> None:
    """Guards the next test against passing on nothing (a moved folder, a renamed file)."""
    assert {path.parent.name for path in HANDLERS} >= {"predict", "health", "batch", "worker", "pretraffic"}


@pytest.mark.parametrize("handler", HANDLERS, ids=[path.parent.name for path in HANDLERS])
def test_no_handler_imports_a_development_package(handler: Path) -> None:
    assert development_imports(handler.read_text()) == [], f"{handler.relative_to(ROOT)} imports a development package"


def test_the_handler_check_finds_every_form_of_import() -> None:
    source = """
import windpitch_local
import os, windpitch_deploy.layers as layers
from windpitch_train.train import Split
import importlib

def handler(event, context):
    from windpitch_cli import main
    importlib.import_module("windpitch_local.sqs")
    return __import__("windpitch_train")
"""
    assert development_imports(source) == [
        "windpitch_local", "windpitch_deploy.layers", "windpitch_train.train", "windpitch_cli",
        "windpitch_local.sqs", "windpitch_train",
    ]  # fmt: skip


def test_the_handler_check_leaves_the_shipped_packages_alone() -> None:
    source = """
from windpitch.predict import load_model
from windpitch_api.app import create_app
import windpitch_batch.run
import windpitch_localised  # another name that merely starts the same
from .windpitch_local import helper  # relative: the function's own folder, not the package
"""
    assert development_imports(source) == []


# The import contracts ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def configuration() -> dict[str, Any]:
    return api.read_configuration(str(ROOT / "pyproject.toml"))


@pytest.fixture(scope="module")
def graph(configuration: dict[str, Any]) -> grimp.ImportGraph:
    """The project's import graph, built as `lint-imports` builds it (uncached: the tree as it is now)."""
    session = configuration["session_options"]
    external = str(session.get("include_external_packages", "")).lower() == "true"
    return grimp.build_graph(*session["root_packages"], include_external_packages=external, cache_dir=None)


def contract(configuration: dict[str, Any], contract_id: str) -> Contract:
    """The contract ``contract_id`` of pyproject.toml, as `lint-imports` would check it."""
    [options] = [options for options in configuration["contracts_options"] if options.get("id") == contract_id]
    if options["type"] not in CONTRACT_TYPES:
        pytest.fail(f"contract {contract_id}: type {options['type']!r} has no breaking case in this test yet")
    return CONTRACT_TYPES[options["type"]](
        name=options["name"], session_options=configuration["session_options"], contract_options=options
    )


def reported_imports(metadata: object) -> set[tuple[str, str]]:
    """Every (importer, imported) a failed contract's report names, wherever in it (chains, routes, extras)."""

    def walk(value: object) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            if isinstance(value.get("importer"), str) and isinstance(value.get("imported"), str):
                yield value["importer"], value["imported"]
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list | tuple | set):
            for item in value:
                yield from walk(item)

    return set(walk(metadata))


def check_with(
    configuration: dict[str, Any], graph: grimp.ImportGraph, contract_id: str, *imports: tuple[str, str]
) -> Any:
    """Check contract ``contract_id`` on a copy of ``graph`` with ``imports`` added."""
    broken = copy.deepcopy(graph)  # as lint-imports does: a contract may change the graph it checks
    for importer, imported in imports:
        broken.add_import(importer=importer, imported=imported)
    return contract(configuration, contract_id).check(broken, verbose=False)


def test_every_contract_has_a_case_that_breaks_it(configuration: dict[str, Any]) -> None:
    """A contract with neither a case in BREAKS nor a container (the generic cycle cases) is never shown to fail."""
    contracts = configuration["contracts_options"]
    assert all("id" in options for options in contracts), "every contract needs an id (the cases use it)"
    uncovered = [o["id"] for o in contracts if o["id"] not in BREAKS and not o.get("containers")]
    assert uncovered == []
    assert set(BREAKS) <= {o["id"] for o in contracts}, "a case for a contract that no longer exists"


@pytest.mark.parametrize(
    ("contract_id", "importer", "imported"),
    [(contract_id, *pair) for contract_id, pairs in BREAKS.items() for pair in pairs],
)
def test_each_contract_fails_on_the_import_it_forbids(
    configuration: dict[str, Any], graph: grimp.ImportGraph, contract_id: str, importer: str, imported: str
) -> None:
    assert (importer, imported) not in reported_imports(check_with(configuration, graph, contract_id).metadata)
    check = check_with(configuration, graph, contract_id, (importer, imported))
    assert not check.kept
    assert (importer, imported) in reported_imports(check.metadata)


def _containers(configuration: dict[str, Any]) -> Iterator[tuple[str, str, list[str]]]:
    for options in configuration["contracts_options"]:
        for container in options.get("containers", []):
            yield options["id"], container, list(options["layers"])


CYCLE_CONTRACTS = list(_containers(api.read_configuration(str(ROOT / "pyproject.toml"))))


def test_every_package_has_a_cycle_contract(configuration: dict[str, Any]) -> None:
    roots = set(configuration["session_options"]["root_packages"])
    assert {container for _, container, _ in CYCLE_CONTRACTS} == roots


@pytest.mark.parametrize(("contract_id", "container", "layers"), CYCLE_CONTRACTS, ids=[c[0] for c in CYCLE_CONTRACTS])
def test_a_cycle_inside_a_package_fails_its_contract(
    configuration: dict[str, Any], graph: grimp.ImportGraph, contract_id: str, container: str, layers: list[str]
) -> None:
    """Two of the package's modules importing each other (its top and bottom ones): whichever order the
    contract lists them in, one of the two imports points up."""
    # An optional layer, "(name)", may be absent: the two are modules the package has now.
    listed = [f"{container}.{layer.strip('()')}" for layer in layers]
    present = [module for module in listed if module in graph.modules]
    top, bottom = present[0], present[-1]
    check = check_with(configuration, graph, contract_id, (top, bottom), (bottom, top))
    assert not check.kept
    assert (bottom, top) in reported_imports(check.metadata)


@pytest.mark.parametrize(("contract_id", "container", "layers"), CYCLE_CONTRACTS, ids=[c[0] for c in CYCLE_CONTRACTS])
def test_a_module_left_out_of_its_packages_list_fails_the_contract(
    configuration: dict[str, Any], graph: grimp.ImportGraph, contract_id: str, container: str, layers: list[str]
) -> None:
    """Unlisted, a module could close a cycle unseen: the contracts are exhaustive."""
    broken = copy.deepcopy(graph)
    broken.add_module(f"{container}.unlisted")
    check = contract(configuration, contract_id).check(broken, verbose=False)
    assert not check.kept
    assert f"{container}.unlisted" in check.metadata["undeclared_modules"]
