"""The README is a front page: short, with both set-up commands on its first screen, and every
link and image in it pointing at something that exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_front_page_is_short_and_gives_both_commands_on_its_first_screen() -> None:
    lines = README.splitlines()
    assert len(lines) <= 250
    first_screen = "\n".join(lines[:24])
    assert "make demo" in first_screen and "make test" in first_screen


def test_every_link_and_image_in_it_exists() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [target for target in targets if not target.startswith(("http://", "https://"))]
    assert "docs/images/desk-call.png" in local and "docs/getting-started.md" in local
    assert [target for target in local if not (ROOT / target).exists()] == []


def test_it_links_every_page_of_the_manual() -> None:
    pages = {path.relative_to(ROOT).as_posix() for path in (ROOT / "docs").rglob("*.md")}
    assert pages - set(re.findall(r"\]\((docs/[^)#]+)", README)) == set()
