"`metacog report RUN --html` (issue 15): one self-contained page, rendered by a real browser (headless Chromium)."
import os, shutil, subprocess
from pathlib import Path
import numpy as np
import pytest

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
DOC_IMAGES = os.environ.get('METACOG_DOC_IMAGES')   # a folder: also copy the screenshot there (nbs/images for the docs)

from conftest import metacog

@pytest.fixture(scope='module')
def page(tmp_path_factory):
    "A short run whose learning rate is far too high (so the cycle diagnoses and acts), and its report page"
    tmp = tmp_path_factory.mktemp('html')
    r = metacog('train', '--preset', 'micro', '--steps', '40', '--eval-every', '20', '--max-length', '64', '--lr', '3', '--quiet', cwd=tmp)
    assert r.returncode == 0, r.stderr[-3000:]
    (run,) = (tmp/'runs').iterdir()
    r = metacog('report', run, '--html', cwd=tmp)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"report page: {run/'report.html'}" in r.stdout, r.stdout[-2000:]
    return run/'report.html'

def test_page_is_self_contained(page):
    "The config, the timeline with the cycle's sentences, the actions table and inlined plots; nothing to fetch"
    s = page.read_text()
    for part in ('<h2>Timeline</h2>', '<h2>Actions</h2>', '<h2>Plots</h2>', '<h2>Configuration</h2>', 'lr_too_high', 'expected'):
        assert part in s, part
    assert s.count("src='data:image/png;base64,") >= 3
    assert '<script' not in s and 'src="http' not in s and "src='http" not in s and '<link' not in s

@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian's `chromium` package; .ci/run installs it)")
def test_chromium_renders_it(page, tmp_path):
    "Chromium loads the page offline (its DOM has the sections and the images) and renders a screenshot that is not blank"
    base = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-proxy-server', '--hide-scrollbars']
    dom = subprocess.run(base + ['--dump-dom', page.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'Timeline' in dom.stdout and dom.stdout.count('<img') >= 3, dom.stderr[-2000:]
    shot = tmp_path/'report.png'
    r = subprocess.run(base + [f'--screenshot={shot}', '--window-size=1200,2600', page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.exists(), r.stderr[-2000:]
    import matplotlib.image as mpimg
    a = mpimg.imread(shot)
    assert a.shape[0] == 2600 and a.shape[1] == 1200
    grey = a[..., :3].mean(-1)
    assert grey.std() > 0.05 and (grey < 0.5).mean() > 0.005   # text and plots on the page, not an empty white frame
    if DOC_IMAGES: Path(DOC_IMAGES).mkdir(parents=True, exist_ok=True); shutil.copy(shot, Path(DOC_IMAGES)/'report_page.png')

def test_report_writes_the_overview(page):
    "`metacog report` leaves the overview and the metrics grid beside the training's loss.png (seaborn's style, one page each)"
    plots = {p.name for p in (page.parent/'plots').iterdir()}
    assert {'loss.png', 'overview.png', 'metrics_grid.png', 'loss_diagnoses.png'} <= plots, plots
