"`metacog improve` end to end, as a user runs it, and a loop killed inside a task that resumes from its queue and history on disk."
import json, os, shutil, signal, subprocess, time
from pathlib import Path
import pytest

from conftest import metacog as _metacog, user_env

def env(home): return user_env(home, OMP_NUM_THREADS='1')   # one torch thread: the models are tiny, two threads contend on a shared machine
def metacog(*args, cwd, timeout=None): return _metacog(*args, cwd=cwd, timeout=timeout, env=env(cwd))

@pytest.fixture
def one_thread():
    import torch
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A finished `metacog train` run (micro, the bundled corpus, 20 steps), trained once through `metacog.cli.main` in this process"
    import torch
    from metacog.cli import main
    root = tmp_path_factory.mktemp('improve'); n = torch.get_num_threads(); torch.set_num_threads(1)
    try: rc = main(['train', '--preset', 'micro', '--steps', '20', '--batch-size', '8', '--max-length', '32', '--eval-every', '20',
                    '--valid-windows', '16', '--no-metacog', '--quiet', '--out', str(root), '--name', 'run', '--strategy-file', str(root/'s.json')])
    finally: torch.set_num_threads(n)
    assert rc == 0
    return root/'run'

def make_run(trained, tmp_path):
    shutil.copytree(trained, tmp_path/'run'); return tmp_path/'run'

def state(run): return json.loads((run/'improved'/'state.json').read_text())

def improve_records(run):
    return [json.loads(l) for l in (run/'journal.jsonl').read_text().splitlines() if json.loads(l)['data'].get('event') == 'improve']

def test_improve_end_to_end(trained, tmp_path, capsys, one_thread):
    from metacog.cli import main
    run = make_run(trained, tmp_path)
    r = metacog('improve', run, '--tasks', 'quantize,prune', '--max-concurrent', '2', '--steps', '3', '--iterations', '2', '--quiet', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    st = state(run)
    assert st['iteration'] == 2 and [h['iteration'] for h in st['history']] == [1, 1, 2, 2]
    assert {h['kind'] for h in st['history']} == {'quantize', 'prune'}
    kept = [h for h in st['history'] if h.get('version')]
    assert st['best'] == (kept[-1]['version'] if kept else '000')
    for h in kept: assert (run/'improved'/h['version']/'config.json').exists() and (run/'improved'/h['version']/'improve.json').exists()
    assert (run/'model'/'model.safetensors').exists()                 # version 000, the run's own model, untouched
    recs = improve_records(run)
    assert sum(r['kind'] == 'action' for r in recs) == 4 and sum(r['kind'] == 'outcome' for r in recs) == 4
    capsys.readouterr()
    assert main(['improve', str(run), '--report']) == 0
    out = capsys.readouterr().out
    assert 'overall health' in out and 'dopamine' in out and (run/'plots'/'improve.png').exists()
    assert main(['report', str(run), '--no-plots']) == 0               # `metacog report` carries the improvement health too
    assert 'overall health' in capsys.readouterr().out
    if kept:   # a kept version loads with transformers alone
        from transformers import AutoModelForCausalLM
        AutoModelForCausalLM.from_pretrained(run/'improved'/kept[-1]['version'])

@pytest.mark.parametrize('args,needle', [(['--tasks', 'teleport'], 'unknown improvement task'),
                                         (['--iterations', '0'], 'iterations must be'),
                                         (['--prune-amount', '1.5'], 'prune_amount must be'),
                                         (['--report'], 'no improvement history')])
def test_improve_bad_input(tmp_path, capsys, args, needle):
    from metacog.cli import main
    assert main(['improve', str(tmp_path), *args, '--quiet']) == 2
    err = capsys.readouterr().err
    assert needle in err and 'Fix:' in err, err
    assert not (tmp_path/'improved').exists()                          # refused before anything was written
    assert main(['improve', str(tmp_path/'nope')]) == 2 and 'Fix:' in capsys.readouterr().err

def test_improve_resumes_after_kill(trained, tmp_path):
    "Killed inside a task: the next `metacog improve` runs that task again from its start, once, and the loop goes on."
    run = make_run(trained, tmp_path)
    p = subprocess.Popen(['metacog', 'improve', str(run), '--tasks', 'train', '--steps', '100000', '--quiet'], cwd=tmp_path,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(tmp_path))
    sf = run/'improved'/'state.json'
    def running():
        try: return any(t['status'] == 'running' for t in json.loads(sf.read_text())['queue'])
        except (FileNotFoundError, ValueError): return False
    while not running():
        assert p.poll() is None, 'the loop ended before it could be killed'
        time.sleep(0.05)
    time.sleep(1.)   # inside the task's training
    p.send_signal(signal.SIGKILL); p.wait()
    st = state(run)
    assert st['history'] == [] and [t['status'] for t in st['queue']] == ['running']
    r = metacog('improve', run, '--tasks', 'train', '--steps', '3', '--quiet', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    st = state(run)
    assert [(h['id'], h['restarts']) for h in st['history']] == [('t0001', 1)] and st['queue'] == [] and st['iteration'] == 1
    assert any('resumed' in r['data'] for r in improve_records(run))
    assert not list((run/'improved').glob('.*.tmp')) and not (run/'improved'/'.lock').exists()
