"""The manual builds with mkdocs in strict mode (a broken link fails it) and its pages render in
Chromium, offline, on a desktop and a phone-sized window; screenshots are kept in
test-artifacts/manual-*.png."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]  # not --quiet: it hides the warnings strict counts


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(MKDOCS + ["--config-file", str(config), "--site-dir", str(site)], cwd=config.parent,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    built = build(ROOT / "mkdocs.yml", folder)
    assert built.returncode == 0 and "WARNING" not in built.stderr, built.stderr
    return folder


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    page = tmp_path / "docs" / "desk.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [the queue](queue.md).\n", encoding="utf-8")
    built = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert built.returncode != 0 and "queue.md" in built.stderr


def test_the_pages_render_with_their_navigation_and_tables(site: Path, browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    browser.set_window_size(1280, 900)
    browser.get((site / "getting-started.html").as_uri())
    assert browser.title == "Getting started - callscore manual"
    assert "callscore score samples/calls" in browser.find_element(By.TAG_NAME, "article").text
    nav = browser.find_element(By.CSS_SELECTOR, "nav.md-nav--primary").text
    assert "The review desk" in nav and "Warehouse tables and views" in nav
    browser.save_screenshot(str(ARTIFACTS / "manual-getting-started.png"))
    browser.get((site / "reference" / "warehouse.html").as_uri() + "#kpi_calls")
    table = browser.find_element(By.CSS_SELECTOR, "h3#kpi_calls ~ div table, h3#kpi_calls ~ table")
    assert "qa_score" in table.text and "agent_talk_ratio" in table.text
    browser.save_screenshot(str(ARTIFACTS / "manual-warehouse-reference.png"))
    assert (ARTIFACTS / "manual-warehouse-reference.png").stat().st_size > 10_000


def test_on_a_phone_the_navigation_is_behind_the_menu_button(site: Path, browser) -> None:
    browser.set_window_size(390, 844)
    browser.get((site / "index.html").as_uri())
    try:
        menu = browser.find_element(By.CSS_SELECTOR, "label.md-header__button[for='__drawer']")
        drawer_right = "return document.querySelector('nav.md-nav--primary').getBoundingClientRect().right"
        assert menu.is_displayed() and browser.execute_script(drawer_right) <= 0  # the drawer is off-screen
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        browser.save_screenshot(str(ARTIFACTS / "manual-phone.png"))
        menu.click()
        WebDriverWait(browser, 5).until(lambda driver: driver.execute_script(drawer_right) > 200)
        assert "Getting started" in browser.find_element(By.CSS_SELECTOR, "nav.md-nav--primary").text
    finally:
        browser.set_window_size(1400, 1800)
