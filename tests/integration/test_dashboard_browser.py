"""The dashboard in real headless Chromium (Debian's), against the whole local stack with published data.

The stack (moto S3, replay of the real data, scheduled batch, API, dashboard) runs on free 127.0.0.1
ports for the module and is always stopped. Screenshots go to test-artifacts/ (look at them).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, running_stack

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BUILT = ROOT / "dashboard" / "dist" / "index.html"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)"),
]


@pytest.fixture(scope="module")
def stack(
    real_data: Path, real_challenger_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    if not BUILT.exists():
        pytest.skip("the dashboard is not built: run `make dashboard` (needs a trained model)")
    log_dir = tmp_path_factory.mktemp("dashboard-stack")
    with running_stack(real_data, log_dir, backfill_days=2, challenger=real_challenger_dir) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page that records console errors; the test's screenshot is saved when it ends."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.errors = []  # type: ignore[attr-defined]
    opened.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))  # type: ignore[attr-defined]
    opened.on("pageerror", lambda e: opened.errors.append(str(e)))  # type: ignore[attr-defined]
    yield opened
    ARTIFACTS.mkdir(exist_ok=True)
    opened.screenshot(path=str(ARTIFACTS / f"dashboard-{request.node.name}.png"), full_page=True)
    context.close()


def ready(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#series-chart[data-points] canvas", timeout=20_000)
    page.wait_for_function("document.querySelector('#agreement').dataset.state !== undefined", timeout=20_000)


def test_the_page_shows_the_published_data(stack: dict[str, str], page: Any) -> None:
    ready(page, stack["dashboard"])
    rows = page.locator("#fleet tbody tr")
    assert rows.count() == 4
    assert rows.first.locator("td").nth(1).inner_text() == "2015-06-01 01:10"
    assert page.locator("#stale").is_hidden()
    series = page.locator("#series-chart")
    assert series.get_attribute("data-series") == "measured,expected"
    assert series.get_attribute("data-points") == "144", "24 hours of ten-minute intervals"
    assert page.locator("#residual-chart").get_attribute("data-series") == "residual,threshold,flagged"
    assert page.locator("#residual-chart").get_attribute("data-points") == "144"
    curve = page.locator("#curve-chart")
    assert curve.get_attribute("data-measured-points") == "144"
    assert curve.get_attribute("data-curve-points") == "51", "0 to 25 m/s every 0.5 m/s"
    assert page.locator("#series-chart canvas").count() == 1
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_window_and_the_turbine_can_be_chosen(stack: dict[str, str], page: Any) -> None:
    ready(page, stack["dashboard"])
    page.select_option("#window-select", "6")
    page.wait_for_function("document.querySelector('#series-chart').dataset.points === '36'")
    page.select_option("#window-select", "168")
    page.wait_for_function("document.querySelector('#series-chart').dataset.points === '296'")  # 2 days + 8
    assert page.locator("#pan-later").is_disabled(), "the window ends at the latest data"
    page.select_option("#window-select", "24")
    page.wait_for_function("document.querySelector('#series-chart').dataset.points === '144'")
    before = page.locator("#series-summary").inner_text()
    page.click("#pan-earlier")
    page.wait_for_function(f"document.querySelector('#series-summary').textContent !== {json.dumps(before)}")
    assert "2015-05-30 13:20 to 2015-05-31 13:10 UTC" in page.locator("#series-summary").inner_text()
    assert page.locator("#pan-later").is_enabled()
    second = page.locator("#fleet tbody tr").nth(1).locator("button")
    name = second.inner_text()
    second.focus()
    page.keyboard.press("Enter")  # keyboard alone selects a turbine
    page.wait_for_function(f"document.querySelector('#turbine-name').textContent === '{name}'")
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_anomalies_table_downloads_as_csv(stack: dict[str, str], page: Any) -> None:
    ready(page, stack["dashboard"])
    listed = int(page.locator("#anomalies").get_attribute("data-rows") or "-1")
    with page.expect_download() as download:
        page.click("#anomalies-csv")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == (
        "turbine,start,end,open,detected_at,fault_class,estimated_offset_deg,offset_uncertainty_deg,"
        "median_residual_deg,peak_residual_deg,intervals"
    )
    assert len(lines) == 1 + listed


def test_model_health_shows_each_inputs_drift_and_the_models_age(stack: dict[str, str], page: Any) -> None:
    ready(page, stack["dashboard"])
    page.wait_for_function("document.querySelectorAll('#health tbody tr').length === 6")
    inputs = page.locator("#health tbody tr").evaluate_all("rows => rows.map(r => r.dataset.input)")
    assert sorted(inputs) == ["Ot_avg", "P_avg", "Va_avg", "Wa_avg", "Ws_avg", "Ya_avg"]
    summary = page.locator("#health-summary").inner_text()
    assert "trained" in summary and "days ago" in summary and "rows" in summary
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_challenger_panel_compares_it_with_the_live_model(stack: dict[str, Any], page: Any) -> None:
    """The panel shows what dashboard/shadow.json holds: the whole fleet, then each turbine, with both MAEs."""
    report = json.loads(stack["s3"].get_object(Bucket="windpitch-local", Key="dashboard/shadow.json")["Body"].read())
    ready(page, stack["dashboard"])
    page.wait_for_function("document.querySelector('#shadow').dataset.status === 'compared'")
    rows = page.locator("#shadow tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.turbine)") == ["all", *report["turbines"]]
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[1] == str(report["overall"]["n"])
    assert (float(cells[2]), float(cells[3])) == pytest.approx(
        (report["overall"]["live"]["mae"], report["overall"]["challenger"]["mae"]), abs=1e-3
    )
    summary = page.locator("#shadow-summary").inner_text()
    assert report["challenger"]["version"] in summary and report["live"]["version"] in summary
    assert page.errors == []  # type: ignore[attr-defined]


def test_an_injected_fault_is_listed_with_its_class_and_estimated_offset(stack: dict[str, str], page: Any) -> None:
    """The stack replays a +3° fault on R80711 (DEMO_FAULT below): the operator sees it, sized and classed."""
    ready(page, stack["dashboard"])
    row = page.locator("#anomalies tbody tr[data-turbine='R80711']").first
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == "2015-05-31 06:00"
    assert cells[4] == "offset"
    estimate, _, uncertainty = cells[5].partition(" ± ")
    assert abs(float(estimate) - 3.0) <= 0.5
    assert 0 < float(uncertainty) < 0.5


def values(page: Any) -> tuple[float, float]:
    api = float(page.locator("#api-value").get_attribute("data-value"))
    embedded = float(page.locator("#embedded-value").get_attribute("data-value"))
    return api, embedded


def test_what_if_the_api_and_the_embedded_model_agree_and_move_with_the_wind(stack: dict[str, str], page: Any) -> None:
    ready(page, stack["dashboard"])
    assert page.locator("#agreement").get_attribute("data-state") == "agree"
    api, embedded = values(page)
    assert abs(api - embedded) <= 1e-6
    assert abs(api) < 3, "fine pitch at 10 m/s"
    page.fill("#wi-Ws1_avg", "16")
    page.wait_for_function("Number(document.querySelector('#api-value').dataset.value) > 3")
    page.wait_for_function("document.querySelector('#agreement').dataset.state === 'agree'")
    api16, embedded16 = values(page)
    assert abs(api16 - embedded16) <= 1e-6
    assert api16 > api + 3, "the blades pitch out above rated wind"
    assert "ms round trip" in page.locator("#api-detail").inner_text()
    assert page.errors == []  # type: ignore[attr-defined]


def test_bad_what_if_input_names_the_field(stack: dict[str, str], page: Any) -> None:
    ready(page, stack["dashboard"])
    page.fill("#wi-Ws1_avg", "-3")
    error = page.locator("#whatif-error")
    error.wait_for(state="visible")
    assert "Ws1_avg: out of range" in error.inner_text()


def test_stale_data_is_flagged(stack: dict[str, str], page: Any) -> None:
    def old(route: Any) -> None:
        fleet = json.loads(route.fetch().text())
        fleet["generated_at"] = "2015-06-01T01:20:00Z"
        route.fulfill(json=fleet)

    page.route("**/dashboard/fleet.json", old)
    ready(page, stack["dashboard"])
    stale = page.locator("#stale")
    stale.wait_for(state="visible")
    assert "Stale data" in stale.inner_text()
    assert page.get_attribute("#stale", "role") == "alert"


def test_the_page_still_works_when_the_api_is_down(stack: dict[str, str], page: Any) -> None:
    page.route(f"{stack['api']}/**", lambda route: route.abort("connectionrefused"))
    ready(page, stack["dashboard"])
    assert page.locator("#agreement").get_attribute("data-state") == "api-down"
    assert "API unreachable" in page.locator("#api-detail").inner_text()
    assert float(page.locator("#embedded-value").get_attribute("data-value")) == pytest.approx(
        float(page.locator("#embedded-value").get_attribute("data-value"))
    )
    assert page.locator("#embedded-value").get_attribute("data-value") != ""
    assert page.locator("#fleet tbody tr").count() == 4, "published data is shown without the API"
    unexpected = [e for e in page.errors if "ERR_CONNECTION_REFUSED" not in e]  # type: ignore[attr-defined]
    assert unexpected == []


def test_the_api_reference_is_served_beside_the_dashboard(stack: dict[str, str], page: Any) -> None:
    """The API's /docs redirects to docs.html, which renders Swagger UI on the API's own document."""
    import requests

    answer = requests.get(f"{stack['api']}/docs", timeout=30, allow_redirects=False)
    assert answer.status_code == 302 and len(answer.content) < 64 * 1024
    assert answer.headers["Location"] == f"{stack['dashboard']}docs.html"
    page.goto(answer.headers["Location"])
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = {p.inner_text().strip() for p in page.locator(".opblock-summary-path").all()}
    assert {"/health", "/predict"} <= paths
    assert page.locator(".servers select option").first.inner_text().startswith(stack["api"]), "try it calls the API"
    assert page.errors == []  # type: ignore[attr-defined]


def test_readable_on_a_phone(stack: dict[str, str], browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    phone = context.new_page()
    try:
        ready(phone, stack["dashboard"])
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    finally:
        context.close()


AXE = ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"


def test_no_accessibility_violations(stack: dict[str, str], page: Any) -> None:
    """axe-core (pinned in dashboard/package.json) on the rendered page: WCAG 2 A/AA rules, contrast included."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci` in dashboard/ (make dashboard does)")
    ready(page, stack["dashboard"])
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa']})")
    violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert violations == []
    assert result["passes"], "axe ran its rules"
