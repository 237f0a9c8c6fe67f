"The package as pip installs it: a wheel built from the repo carries the bundled corpus and the `metacog` command."
import subprocess, sys, zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent

def test_wheel_has_data_and_entry_point(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-w', tmp_path, ROOT],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    whl = next(tmp_path.glob('metacog-*.whl'))
    names = zipfile.ZipFile(whl).namelist()
    assert any(n.startswith('metacog/bundled/') and n.endswith('.txt') for n in names), names
    assert 'metacog/all.py' in names and 'metacog/learner.py' in names
    ep = next(n for n in names if n.endswith('entry_points.txt'))
    assert 'metacog = metacog.learner:main' in zipfile.ZipFile(whl).read(ep).decode()
    # installed into a fresh virtual environment (dependencies from the system site), it runs outside the repo
    venv = tmp_path/'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--system-site-packages', venv], check=True)
    py = venv/'bin'/'python'
    subprocess.run([py, '-m', 'pip', 'install', '--no-deps', '-q', whl], check=True, capture_output=True)
    code = "import metacog, metacog.all as m; print(metacog.__file__); print(len(m.bundled_corpus()))"
    out = subprocess.run([py, '-c', code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    path, n = out.stdout.split()
    assert str(venv) in path and int(n) > 10_000
    h = subprocess.run([venv/'bin'/'metacog', '--help'], cwd=tmp_path, capture_output=True, text=True)
    assert h.returncode == 0 and 'train' in h.stdout
