"`metacog -h` and `metacog COMMAND -h` answer without importing PyTorch, fastai or transformers (they take seconds to import)."
import subprocess, sys
import pytest

HEAVY = ('torch', 'fastai', 'transformers')
CODE = """
import sys
from metacog.cli import main, COMMANDS
try: main({argv!r})
except SystemExit: pass
print('HEAVY', *[m for m in {heavy!r} if m in sys.modules])
"""

@pytest.mark.parametrize('argv', [['-h'], [], ['bench', '-h'], ['train', '-h'], ['generate', '-h'], ['export', '-h'],
                                  ['report', '-h'], ['grow', '-h'], ['selflearn', '-h']])
def test_help_imports_nothing_heavy(argv):
    r = subprocess.run([sys.executable, '-c', CODE.format(argv=argv, heavy=HEAVY)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'usage' in r.stdout
    assert r.stdout.strip().splitlines()[-1] == 'HEAVY', r.stdout.splitlines()[-1]

def test_every_command_has_help():
    from metacog.cli import COMMANDS
    assert set(COMMANDS) >= {'train', 'generate', 'export', 'report', 'grow', 'selflearn'}
    for name, f in COMMANDS.items(): assert (f.__doc__ or '').strip(), name

def _help(argv):
    r = subprocess.run([sys.executable, '-c', CODE.format(argv=argv, heavy=HEAVY)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return ' '.join(r.stdout.split())   # wrapping depends on the terminal's width

def test_help_text_reads_plainly():
    "Placeholders a user can read, one name (RUN) for the run, --out explained, no flag contradicting its default, no jargon"
    h = _help(['train', '-h'])
    for s in ('--out PATH', '--steps N', '--lr X', '--name TEXT', 'this run is written to OUT/NAME', '--no-metacog turn off'):
        assert s in h, s
    for s in ('(str)', '(int)', '(float)', '(default: False)', '[--metacog]', '--metacog ', 'THAU', 'Infinito', 'seed used'):
        assert s not in h, s
    for cmd in ('generate', 'export', 'report', 'grow', 'selflearn'):
        h = _help([cmd, '-h'])
        assert ' RUN ' in h and 'run_dir' not in h and 'RUN_DIR' not in h and '(str)' not in h, (cmd, h)
    for cmd in ('grow', 'selflearn'): assert '--in-place' in _help([cmd, '-h']), cmd
    h = _help(['selflearn', '-h'])
    assert "seed's" not in h and '(the seed)' not in h and '--limits' in h, h
