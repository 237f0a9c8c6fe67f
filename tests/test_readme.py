"The README starts with the two commands, and CI runs the second one exactly."
from pathlib import Path
import re
ROOT = Path(__file__).parent.parent

def test_readme_commands_and_ci():
    readme = (ROOT/'README.md').read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert block == ['pip install -e . && metacog train', 'pip install -e ".[dev]" && pytest']
    assert readme.index('```sh') < readme.index('## ')   # the commands come before any section
    ci = (ROOT/'.ci'/'run').read_text().splitlines()
    assert block[1] in ci

def test_readme_is_rendered_from_index():
    import json
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text())
    md = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown']
    readme = (ROOT/'README.md').read_text()
    for m in md: assert m.replace('](images/', '](nbs/images/') in readme, m[:80]   # .ci/readme.py points images at nbs/images

def test_readme_python_runs_as_written(tmp_path):
    "The README's Python blocks, run in order in a fresh folder and a fresh interpreter, work as written"
    import subprocess, sys
    readme = (ROOT/'README.md').read_text()
    code = '\n'.join(re.findall(r"```python\n(.*?)```", readme, re.S))
    assert 'metacog_learner' in code
    r = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/'runs'/'quickstart'/'model'/'config.json').exists()
