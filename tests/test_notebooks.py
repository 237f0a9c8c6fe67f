"Every notebook in nbs/ and nbs/tutorials/ is a test suite: run each one (cells flagged `notest` or `slow` are skipped)."
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_nb

NBS = sorted((Path(__file__).parent.parent/'nbs').glob('*.ipynb')) + sorted((Path(__file__).parent.parent/'nbs'/'tutorials').glob('*.ipynb'))

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb):
    ok, secs = run_nb(nb, skip_flags=['notest', 'slow'])
    assert ok, f"{nb.name} failed (traceback above)"
