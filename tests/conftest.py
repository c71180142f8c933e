"""Shared test fixtures: a private STUDIO_HOME per test, the shared corpora when present, and running
the `studio` command as a real subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STUDIO_SHARED", REPO.parent / "shared"))
SHARED_CORPORA = SHARED / "corpora"
MAESTRO = sorted((SHARED_CORPORA / "maestro-samples").glob("*.mid"))
BROKEN_MIDI = sorted((SHARED_CORPORA / "broken-midi").glob("*.mid"))
EXAMPLE_ABC = REPO / "corpora" / "examples" / "session-tunes.abc"

needs_maestro = pytest.mark.skipif(not MAESTRO, reason=f"shared Maestro samples not found under {SHARED_CORPORA}")
needs_broken = pytest.mark.skipif(not BROKEN_MIDI, reason=f"shared broken MIDI files not found under {SHARED_CORPORA}")


@pytest.fixture(autouse=True)
def studio_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own empty user-data folder."""
    home = tmp_path_factory.mktemp("studio-home")
    monkeypatch.setenv("STUDIO_HOME", str(home))
    return home


def run_studio(*args: str, cwd: str | Path | None = None, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m studio ARGS` as a user would run `studio ARGS`; returns the completed process."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = os.pathsep.join([str(REPO), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=full_env)


@pytest.fixture
def studio_cli():
    return run_studio


# Tests on one real device (the JACK server, the PulseAudio daemon) carry `REAL_DEVICE` (a module-level
# `pytestmark`). `./scripts/test.sh` runs every other test in two pytest-xdist workers, then these in one
# process, one after another (two workers would share, and fight over, the one device).
REAL_DEVICE = pytest.mark.real_device


@pytest.fixture
def main_window(qtbot, monkeypatch):
    """The studio's main window (offscreen), answering yes to every question; its playback closed after."""
    from studio.app.mainwindow import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    monkeypatch.setattr(window, "ask", lambda *a, **k: True)
    yield window
    window.jam_panel.shutdown()
    window.transport.close()
