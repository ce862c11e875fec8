"""One home for every setting: windpitch.settings reads it, holds its default and checks it; nothing restates it.

* no shipped module but windpitch.settings reads a setting from ``os.environ``;
* every variable template.yaml gives a function is a setting (or Powertools' own log level);
* a template parameter that feeds a setting with a default defaults to ``""`` (windpitch's default), and
  samconfig.toml, the Makefile and the local stack never pass a setting its default;
* ``docs/settings.md`` is what ``python -m windpitch_deploy settings`` generates;
* a malformed value stops a function naming the variable and the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

from tests.conftest import ROOT
from windpitch import settings
from windpitch.settings import SettingError
from windpitch_deploy import settings_doc

TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
SHIPPED = ["layers", "functions", "windpitch_cli", "windpitch_train"]
# Modules that touch os.environ without reading a setting, each for its reason.
ENVIRONMENT_WRITERS = {
    "windpitch_cli/workers.py": "sets a worker process's environment as Lambda would, before importing its handler",
    "windpitch_cli/backfill.py": "passes this process's AWS_ and WINDPITCH_ variables on to its worker processes",
}
POWERTOOLS_OWN = {"POWERTOOLS_LOG_LEVEL"}  # read by Powertools itself, set from the template's LogLevel
BY_NAME = {s.name: s for s in settings.SETTINGS}


def python_files() -> list[Path]:
    return [p for folder in SHIPPED for p in (ROOT / folder).rglob("*.py") if "artifacts" not in p.parts]


def reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        named = isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}
        if named and isinstance(node.value, ast.Name) and node.value.id == "os":  # type: ignore[attr-defined]
            return True
    return False


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = {str(p.relative_to(ROOT)) for p in python_files() if reads_environment(p)}
    assert readers == {"layers/model/windpitch/settings.py", *ENVIRONMENT_WRITERS}


def test_the_scan_finds_a_module_that_reads_the_environment(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nX = os.environ.get('WINDPITCH_BUCKET', 'b')\n")
    assert reads_environment(module)
    module.write_text("from windpitch import settings\nX = settings.BUCKET.read()\n")
    assert not reads_environment(module)


def function_environments() -> dict[str, dict[str, Any]]:
    found = {"Globals": TEMPLATE["Globals"]["Function"].get("Environment", {}).get("Variables", {})}
    for name, resource in TEMPLATE["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            found[name] = resource["Properties"].get("Environment", {}).get("Variables", {})
    return found


def test_every_variable_the_template_sets_is_a_setting() -> None:
    for function, variables in function_environments().items():
        unknown = set(variables) - set(BY_NAME) - POWERTOOLS_OWN
        assert not unknown, f"{function} sets {sorted(unknown)}, which windpitch.settings does not declare"


def test_the_template_never_restates_a_default() -> None:
    parameters = TEMPLATE["Parameters"]
    for variables in function_environments().values():
        for variable, value in variables.items():
            setting = BY_NAME.get(variable)
            if setting is None or not isinstance(value, dict) or value.get("Ref") not in parameters:
                continue
            default = parameters[value["Ref"]].get("Default")
            if value["Ref"] == "BatchScheduleMinutes":  # a rate expression takes a number: held equal instead
                assert str(default) == str(setting.default), "BatchScheduleMinutes and SCHEDULE_MINUTES differ"
            elif setting.default != "":
                assert default == "", f'{value["Ref"]} restates {variable}\'s default: give it Default ""'


def test_samconfig_the_makefile_and_the_local_stack_never_pass_a_default() -> None:
    overrides = settings_doc.samconfig_overrides(ROOT / "samconfig.toml")
    parameter_of = {
        value["Ref"]: variable
        for variables in function_environments().values()
        for variable, value in variables.items()
        if isinstance(value, dict) and "Ref" in value
    }
    for parameter, uses in overrides.items():
        if parameter in parameter_of and parameter_of[parameter] in BY_NAME:
            default = str(BY_NAME[parameter_of[parameter]].default)
            assert all(not use.endswith(f": {default}") for use in uses), f"samconfig passes {parameter}'s default"
    for name in settings_doc.SETTERS:
        text = (ROOT / name).read_text()
        for setting in settings.SETTINGS:
            if setting.default in ("", None):
                continue
            passed = re.findall(rf"{setting.name}\W+[\"']?([\w.:/-]+)", text)
            assert str(setting.default) not in passed, f"{name} passes {setting.name} its default"


def test_the_settings_page_is_generated_from_the_settings_and_the_template() -> None:
    assert (ROOT / "docs" / "settings.md").read_text() == settings_doc.render(), (
        "docs/settings.md is stale: run python -m windpitch_deploy settings"
    )
    page = settings_doc.render()
    for setting in settings.SETTINGS:
        assert f"`{setting.name}`" in page


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("DETECTOR_WINDOW_INTERVALS", "five", "not an integer"),
        ("DETECTOR_WINDOW_INTERVALS", "0", "must be at least 1"),
        ("DETECTOR_STEADY_THRESHOLD_DEG", "-1", "must be a finite number above 0"),
        ("MONITORING_PSI_THRESHOLD", "inf", "must be a finite number above 0"),
        ("CHALLENGER_VERSION", "../live", "not a published model version"),
    ],
)
def test_a_malformed_setting_stops_the_batch_naming_the_variable(
    variable: str, value: str, reason: str, monkeypatch: pytest.MonkeyPatch, functions: dict[str, Any],
    lambda_context: Any,
) -> None:  # fmt: skip
    monkeypatch.setenv("WINDPITCH_BUCKET", "b")
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError, match=rf"^{variable}='{re.escape(value)}': {reason}"):
        functions["batch"].lambda_handler({"id": "x"}, lambda_context)


def test_a_required_setting_left_unset_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WINDPITCH_BUCKET", raising=False)
    with pytest.raises(SettingError, match=r"^WINDPITCH_BUCKET: not set"):
        settings.BUCKET.read()


def test_an_empty_value_is_the_default() -> None:
    for setting in settings.SETTINGS:
        if not setting.required:
            assert setting.read({setting.name: ""}) == setting.default
            assert setting.read({}) == setting.default
