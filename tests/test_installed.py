"The package as pip installs it: a wheel built from the repo carries the bundled corpus and the `metacog` command."
import os, subprocess, sys, zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent

def test_wheel_has_data_and_entry_point(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-w', tmp_path, ROOT],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    whl = next(tmp_path.glob('metacog-*.whl'))
    names = zipfile.ZipFile(whl).namelist()
    assert any(n.startswith('metacog/bundled/') and n.endswith('.txt') for n in names), names
    for m in ['all', 'cli', 'train', 'cycle', 'bench']: assert f'metacog/{m}.py' in names, m
    ep = next(n for n in names if n.endswith('entry_points.txt'))
    assert 'metacog = metacog.cli:main' in zipfile.ZipFile(whl).read(ep).decode()
    # installed on its own into a folder (its dependencies are the running interpreter's, whether that is a venv or
    # the system Python), it runs outside the repository: the package and the command come from that folder
    site = tmp_path/'site'
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', site, whl], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    env = {**os.environ, 'PYTHONPATH': str(site)}
    code = "import metacog, metacog.all as m; print(metacog.__file__); print(len(m.bundled_corpus()))"
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    path, n = out.stdout.split()
    assert str(site) in path and int(n) > 10_000
    h = subprocess.run([site/'bin'/'metacog', '--help'], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert h.returncode == 0 and 'train' in h.stdout, h.stderr[-3000:]
    # the benchmark corpus is found the same way from an installed package as from a checkout
    code = "from metacog.bench import bench_corpus; print(bench_corpus())"
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT.parent, capture_output=True, text=True, env=env)
    if (ROOT.parent/'shared'/'data'/'tinyshakespeare'/'input.txt').exists():
        assert out.returncode == 0 and out.stdout.strip().endswith('tinyshakespeare/input.txt'), out.stderr[-2000:]
