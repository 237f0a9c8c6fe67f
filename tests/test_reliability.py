"""Nothing lost, nothing silent (issue #17): each case a careful user found, reproduced through the `metacog` command.

`O` is the issue's own option set; every run is small (the `micro` preset, a few dozen steps)."""
import json, os, signal, subprocess, sys, time, shutil, csv
from pathlib import Path
import pytest, torch
from safetensors.torch import load_file

O = ['--preset', 'micro', '--eval-every', '10', '--batch-size', '8', '--max-length', '64', '--quiet']

from conftest import metacog

class Result:
    def __init__(self, returncode, stderr): self.returncode, self.stderr = returncode, stderr

@pytest.fixture
def main_in(monkeypatch, capsys):
    "`metacog ARGS` in this process (no seconds of imports per call): the same `main`, its exit code and stderr"
    from metacog.cli import main
    def _run(*args, cwd):
        monkeypatch.chdir(cwd); monkeypatch.setenv('HOME', str(cwd)); capsys.readouterr()
        rc = main(list(map(str, args)))
        return Result(rc, capsys.readouterr().err)
    return _run

def ckpts(run): return sorted((Path(run)/'checkpoints').glob('step_*'))

def finite(folder, name='model.safetensors'):
    return all(torch.isfinite(t).all() for t in load_file(str(Path(folder)/name)).values())

def events(run, name=None):
    recs = [json.loads(l) for l in (Path(run)/'journal.jsonl').read_text().splitlines()]
    return [r for r in recs if r['kind'] == 'event' and (name is None or r['data'].get('event') == name)]

def no_traceback(r): assert 'Traceback' not in r.stderr, r.stderr[-3000:]

@pytest.fixture(scope='module')
def healthy(tmp_path_factory):
    "A healthy 30-step run: three checkpoints were written, two are kept"
    d = tmp_path_factory.mktemp('healthy')
    r = metacog('train', *O, '--steps', '30', '--name', 'ok', cwd=d)
    assert r.returncode == 0, r.stderr[-3000:]
    return d, d/'runs'/'ok'

def copy_run(healthy, tmp_path, name='run'):
    shutil.copytree(healthy[1], tmp_path/'runs'/name); return tmp_path/'runs'/name

# 1. Non-finite states are never checkpointed; the last good weights end in model/
@pytest.mark.parametrize('extra', [[], ['--no-metacog']], ids=['cycle', 'no-cycle'])
def test_nonfinite_never_checkpointed(tmp_path, extra, main_in):
    r = main_in('train', *O, '--steps', '60', '--lr', '1e3', '--name', 'nan', *extra, cwd=tmp_path)
    no_traceback(r)
    run = tmp_path/'runs'/'nan'
    assert all(finite(c) for c in ckpts(run)), [c.name for c in ckpts(run)]
    if (run/'model').exists(): assert finite(run/'model')
    if r.returncode != 0: assert 'last good weights' in r.stderr or 'no finite checkpoint' in r.stderr, r.stderr[-2000:]

def test_resume_with_exploding_lr_keeps_good_checkpoints(healthy, tmp_path, main_in):
    run = copy_run(healthy, tmp_path)
    r = main_in('train', '--resume', run, '--steps', '60', '--lr', '1e4', cwd=tmp_path)
    no_traceback(r)
    assert ckpts(run) and all(finite(c) for c in ckpts(run))
    assert finite(run/'model')   # the healthy run's model/, or the last good weights put back

# 2. Options that trained to garbage and exited 0 are refused at once
@pytest.mark.parametrize('args,needle', [
    (['--max-grad-norm', '-1'], '--max-grad-norm must be a finite number in [0, inf], got -1.0'),
    (['--max-grad-norm', 'nan'], '--max-grad-norm must be a finite number'),
    (['--weight-decay', 'nan'], '--weight-decay must be a finite number'),
    (['--min-lr', 'nan'], '--min-lr must be a finite number'),
    (['--min-lr', '-1', '--scheduler', 'cosine'], '--min-lr must be a finite number in [0, 0.003], got -1.0'),
    (['--weight-decay', '-50'], '--weight-decay must be a finite number in [0, 10], got -50.0'),
    (['--lr', 'inf'], '--lr must be a finite number'),
    (['--dropout', '1.5'], '--dropout must be a finite number in [0, 1)'),
    (['--warmup-steps', '-3'], '--warmup-steps must be a finite whole number'),
])
def test_bad_numbers_refused(tmp_path, args, needle, main_in):
    r = main_in('train', *args, cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'runs').exists()   # nothing written

# 3. Resume refuses what would change the data or the model, and names both values
@pytest.mark.parametrize('args,needle', [
    (['--valid-pct', '0.2'], "--valid-pct 0.2 differs from the run's --valid-pct 0.1"),
    (['--preset', 'tiny'], "--preset tiny differs from the run's --preset micro"),
    (['--max-length', '32'], "--max-length 32 differs from the run's --max-length 64"),
])
def test_resume_refuses_changed_data_or_model(healthy, tmp_path, args, needle, main_in):
    run = copy_run(healthy, tmp_path)
    before = (run/'journal.jsonl').read_bytes()
    r = main_in('train', '--resume', run, '--steps', '40', *args, cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr, r.stderr[-2000:]
    assert (run/'journal.jsonl').read_bytes() == before   # nothing written

def test_resume_journals_changed_options(healthy, tmp_path, main_in):
    run = copy_run(healthy, tmp_path)
    r = main_in('train', '--resume', run, '--steps', '40', '--lr', '1e-3', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = events(run, 'resume')[-1]['data']
    assert res['changed'] == {'steps': [30, 40], 'lr': [0.003, 0.001]}, res
    cfg = json.loads((run/'config.json').read_text())
    assert cfg['steps'] == 40 and cfg['resumes'][-1]['changed']['lr'] == [0.003, 0.001]
    assert json.loads((run/'checkpoints'/'latest.json').read_text())['step'] == 40

# 3, 4. Damaged checkpoints: found by their checksums; the resume falls back to the previous whole one and says so
def _zero(p):
    with open(p, 'r+b') as f: f.seek(min(2000, p.stat().st_size//4)); f.write(bytes(min(20_000, p.stat().st_size//2)))
def _truncate(p):
    with open(p, 'r+b') as f: f.truncate(p.stat().st_size//2)

@pytest.mark.parametrize('damage', [
    ('model.safetensors', _zero), ('model.safetensors', _truncate), ('optimizer.pt', _truncate), ('rng.pt', _truncate),
    ('state.json', lambda p: p.write_text('{garbled')), ('state.json', lambda p: p.write_text(''))],
    ids=['zeroed-weights', 'truncated-weights', 'truncated-optimizer', 'truncated-rng', 'garbled-state', 'empty-state'])
def test_damaged_newest_checkpoint_falls_back(healthy, tmp_path, damage, main_in):
    run = copy_run(healthy, tmp_path)
    new, old = ckpts(run)[-1], ckpts(run)[-2]
    damage[1](new/damage[0])
    r = main_in('train', '--resume', run, '--steps', '40', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    res = events(run, 'resume')[-1]
    assert res['step'] == int(old.name[5:]) and res['data']['skipped'][0][0] == new.name, res
    assert damage[0] in res['data']['skipped'][0][1] or 'state.json' in res['data']['skipped'][0][1]

@pytest.mark.parametrize('content', ['', '{garbled', '{"name": "step_99999999", "step": 99999999}'])
def test_bad_latest_json_is_not_trusted(healthy, tmp_path, content, main_in):
    run = copy_run(healthy, tmp_path)
    (run/'checkpoints'/'latest.json').write_text(content)
    r = main_in('train', '--resume', run, '--steps', '40', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert events(run, 'resume')[-1]['step'] == 30

def test_every_checkpoint_damaged(healthy, tmp_path, main_in):
    run = copy_run(healthy, tmp_path)
    for c in ckpts(run): _truncate(c/'model.safetensors')
    r = main_in('train', '--resume', run, '--steps', '40', cwd=tmp_path)
    no_traceback(r)
    assert r.returncode == 2 and 'nothing to resume' in r.stderr and 'is damaged' in r.stderr, r.stderr[-2000:]

# 4. Unwritable places: a clear error naming the file and the fix
def test_out_is_a_file(tmp_path, main_in):
    (tmp_path/'afile').write_text('x')
    r = main_in('train', *O, '--steps', '10', '--out', 'afile', cwd=tmp_path)
    no_traceback(r)
    assert r.returncode == 2 and 'is a file, not a folder' in r.stderr, r.stderr[-2000:]

@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only folders')
def test_out_read_only(tmp_path):
    (tmp_path/'ro').mkdir(); (tmp_path/'ro').chmod(0o500)
    r = metacog('train', *O, '--steps', '10', '--out', 'ro/runs', cwd=tmp_path)
    no_traceback(r)
    assert r.returncode == 2 and 'Permission denied' in r.stderr, r.stderr[-2000:]

@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present')
def test_device_cuda_without_gpu(tmp_path, main_in):
    r = main_in('train', *O, '--steps', '10', '--device', 'cuda', cwd=tmp_path)
    no_traceback(r)
    assert r.returncode == 2 and 'no CUDA GPU is available' in r.stderr, r.stderr[-2000:]

@pytest.fixture
def small_disk(tmp_path):
    "A 1.5 MB tmpfs (root only; skipped where mounting is not allowed)"
    m = tmp_path/'small'; m.mkdir()
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1536k', 'tmpfs', str(m)], capture_output=True).returncode != 0:
        pytest.skip('cannot mount a tmpfs here (needs root)')
    yield m
    subprocess.run(['umount', str(m)])

def test_full_disk(tmp_path, small_disk):
    r = metacog('train', *O, '--steps', '40', '--out', small_disk/'runs', cwd=tmp_path)
    no_traceback(r)
    assert r.returncode == 2 and ('disk is full' in r.stderr or 'MiB free' in r.stderr), r.stderr[-2000:]

# 5. One writer per run
def test_second_writer_refused(healthy, tmp_path):
    run = copy_run(healthy, tmp_path)
    p = subprocess.Popen(['metacog', 'train', '--resume', run, '--steps', '5000'], cwd=tmp_path, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env={**os.environ, 'HOME': str(tmp_path)})
    try:
        while not (run/'.lock').exists() or not (run/'.lock').read_text().strip():
            assert p.poll() is None, 'the first writer ended early'
            time.sleep(0.05)
        before = len(events(run))
        r = metacog('train', '--resume', run, '--steps', '5000', cwd=tmp_path)
        assert r.returncode == 2 and f"PID {p.pid}" in r.stderr, r.stderr[-2000:]
    finally: p.send_signal(signal.SIGKILL); p.wait()
    from metacog.core import RunLock
    with RunLock(run): pass   # the kernel let go of the dead writer's lock

# 6. Bookkeeping after a kill: metrics.csv and the journal go on exactly, temporary files are swept
def _table(run): return [{k:v for k,v in r.items() if k != 'seconds'} for r in csv.DictReader(open(run/'metrics.csv'))]

def test_kill_resume_bookkeeping(healthy, tmp_path):
    args = [*O, '--steps', '60', '--no-metacog']
    assert metacog('train', *args, '--name', 'straight', cwd=tmp_path).returncode == 0
    p = subprocess.Popen(['metacog', 'train', *args, '--name', 'killed'], cwd=tmp_path, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env={**os.environ, 'HOME': str(tmp_path)})
    run = tmp_path/'runs'/'killed'
    while not (run/'metrics.csv').exists() or len((run/'metrics.csv').read_text().splitlines()) < 4:   # killed after step 30's row
        assert p.poll() is None, 'the run ended before it could be killed'
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()
    (run/'.metrics.csv.1.2.tmp').write_text('left by a kill')   # what a kill inside a write leaves
    r = metacog('train', *args, '--resume', run, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = _table(tmp_path/'runs'/'straight'), _table(run)
    assert [x['step'] for x in b] == ['10', '20', '30', '40', '50', '60']
    assert a == b   # every counter (eval, tokens_seen, epoch, train_loss) continues exactly
    evals = [e['step'] for e in events(run, 'eval')]
    assert evals == sorted(set(evals))
    assert list(run.rglob('*.tmp')) == [] and not (run/'.lock').exists()
