"""Light commands start at once: they never import torch or Qt (checked with both made unimportable)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import EXAMPLE_ABC, REPO

BLOCKER = textwrap.dedent("""
    import sys
    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in ('torch', 'PySide6'):
                raise ImportError(f'{name} is blocked in this test')
    sys.meta_path.insert(0, Blocker())
    from studio.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def run_blocked(*args, tmp_path):
    return subprocess.run([sys.executable, "-c", BLOCKER, *map(str, args)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                          "STUDIO_HOME": str(tmp_path / "home")})


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["info", EXAMPLE_ABC], ["corpus", "list"],
                                  ["encode", "--codec", "folk", EXAMPLE_ABC], ["train", "--help"]])
def test_light_commands_work_without_torch_or_qt(args, tmp_path):
    r = run_blocked(*args, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


def test_decode_and_convert_without_torch(tmp_path):
    midi = tmp_path / "tune.mid"
    r = run_blocked("convert", EXAMPLE_ABC, midi, "--tune", "1", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run_blocked("encode", "--codec", "performance", "--ids", midi, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    (tmp_path / "ids.txt").write_text(r.stdout)
    r = run_blocked("decode", "--codec", "performance", tmp_path / "ids.txt", "-o", tmp_path / "back.mid",
                    tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back.mid").stat().st_size > 0
