"""The package installs like one: a built wheel, installed into a fresh venv, finds the shipped model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from plantheme.settings import REPO_ROOT

# What the wheel is built from (the build needs no labels, tests or benchmarks).
_SOURCES = ("pyproject.toml", "README.md", "src", "service", "models")


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_a_built_wheel_installed_elsewhere_predicts_with_the_shipped_model(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in _SOURCES:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(
                REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "model-*")
            )
        else:
            shutil.copy2(REPO_ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PLANTHEME_MODEL_DIR")}
    wheels = tmp_path / "wheels"
    # No build isolation: the build uses this interpreter's setuptools, so no network is needed.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        cwd=tmp_path,
        env=env,
    )
    wheel = next(wheels.glob("plantheme-*.whl"))
    shutil.rmtree(source)  # the installed package must not lean on the tree it was built from

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    bin_dir = target / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    # The dependencies come from the running environment (a path entry, so its editable
    # plantheme hook is not loaded): the venv's own plantheme is the wheel's.
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path, env=env
        ).stdout.strip()
    )
    (site / "running-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        cwd=tmp_path,
        env=env,
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _run([str(bin_dir / "plantheme"), "predict", "推进河长制。"], cwd=elsewhere, env=env)
    answer = json.loads(done.stdout)
    assert answer["theme"] == "ecology"
    located = _run(
        [str(python), "-c", "from plantheme.settings import DEFAULT_MODEL_DIR; print(DEFAULT_MODEL_DIR)"],
        cwd=elsewhere,
        env=env,
    ).stdout.strip()
    assert Path(located).is_relative_to(site), located
