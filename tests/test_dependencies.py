"""Every package the code imports is declared in pyproject.toml (deptry), and the lock pins them all."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

LOCK = ROOT / "requirements.lock"


def deptry(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deptry", ".", "--no-ansi"], cwd=folder,
                          capture_output=True, text=True, timeout=300)


def test_every_imported_package_is_declared() -> None:
    result = deptry(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_import_that_arrives_only_through_another_package_fails_the_check(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "pipeline").mkdir()
    # tqdm comes with faster-whisper, but callscore does not declare it
    (tmp_path / "pipeline" / "progress.py").write_text("import duckdb\nimport tqdm\n")
    result = deptry(tmp_path)
    assert result.returncode == 1
    assert re.search(r"progress\.py:2:\d+: DEP003 'tqdm' imported but it is a transitive dependency",
                     result.stdout + result.stderr)


def _declared() -> list[Requirement]:
    """pyproject.toml's requirements: the package's, the dev, multilingual and gemma extras and the build group."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = project["project"]["optional-dependencies"]
    texts = [*project["project"]["dependencies"], *extras["dev"], *extras["multilingual"], *extras["gemma"],
             *project["dependency-groups"]["build"]]
    return [Requirement(text) for text in texts]


def _pins() -> dict[str, str]:
    """requirements.lock's exact versions that apply to this Python, by normalised name."""
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "# ":
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            (version,) = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            pins[canonicalize_name(requirement.name)] = version
    return pins


def test_the_lock_pins_every_declared_package_within_its_range() -> None:
    """A range changed in pyproject.toml without `make lock` fails here, not on a user's machine."""
    pins = _pins()
    for requirement in _declared():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared but not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock has {name}=={pins[name]}, outside {requirement}: run `make lock`")
