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
