"The `metacog` command end to end, as a user runs it: in a fresh folder, through the installed entry point."
import json, os, signal, shutil, subprocess, sys, time
from pathlib import Path
import pytest, torch

from conftest import metacog, user_env as env

def test_train_default(tmp_path):
    "README's first command: `metacog train` with no arguments trains on the bundled corpus and leaves a run directory."
    r = metacog('train', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    runs = list((tmp_path/'runs').iterdir())
    assert len(runs) == 1
    run = runs[0]
    for name in ['journal.jsonl', 'metrics.csv', 'plots', 'checkpoints', 'model', 'config.json', 'env_report.json', 'plots/metrics_grid.png', 'plots/metrics/valid_loss.png']: assert (run/name).exists(), name
    assert (tmp_path/'.metacog'/'strategies.json').exists()   # the cycle ran, and keeps what it learned for the next run
    kinds = {json.loads(l)['kind'] for l in (run/'journal.jsonl').read_text().splitlines()}
    assert {'observation', 'event'} <= kinds
    rep = metacog('report', run, cwd=tmp_path)
    assert rep.returncode == 0 and 'step' in rep.stdout and (run/'plots'/'loss.png').exists(), rep.stderr[-2000:]
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model, tok = AutoModelForCausalLM.from_pretrained(run/'model'), AutoTokenizer.from_pretrained(run/'model')
    evals = [json.loads(l) for l in (run/'journal.jsonl').read_text().splitlines()]
    evals = [e for e in evals if e['kind'] == 'event' and e['data'].get('event') == 'eval']
    # it learned: the final validation loss is well below the uniform guess over the vocabulary
    assert evals[-1]['data']['valid_loss'] < 0.6 * torch.log(torch.tensor(float(len(tok)))).item()
    g = metacog('generate', run, '--prompt', 'The ', '--max-new-tokens', '20', '--seed', '0', cwd=tmp_path)
    assert g.returncode == 0 and len(g.stdout.strip()) > 4, g.stderr[-2000:]

@pytest.mark.parametrize('args,needle', [
    (['--steps', '0'], '--steps must be a finite whole number in [1, inf], got 0'),
    (['--batch-size', '-1'], '--batch-size must be a finite whole number'),
    (['--preset', 'age99'], 'unknown --preset'),
    (['--corpus', 'missing/file.txt'], 'Fix:'),
    (['--preset', 'micro', '--max-length', '100000'], 'Fix:'),
    (['--tokenizer', 'words'], 'unknown --tokenizer'),
    (['--lr', 'fast'], "'fast' is not a learning rate"),
    (['--lr', 'auto', '--min-lr', '1e-4'], '--min-lr needs a number for --lr'),
])
def test_train_bad_input(tmp_path, args, needle):
    r = metacog('train', *args, cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'runs').exists() or not any((tmp_path/'runs').iterdir())   # nothing written for a bad option

def test_train_lr_auto(tmp_path):
    "`--lr auto`: a range test on copies chooses the rate; the run trains at it, says so, and a resume keeps it"
    r = metacog('train', '--preset', 'micro', '--steps', '20', '--eval-every', '10', '--lr', 'auto', '--name', 'r', '--quiet', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/'runs'/'r'; cfg = json.loads((run/'config.json').read_text())
    assert isinstance(cfg['lr'], float) and 1e-6 < cfg['lr'] < 1 and cfg['lr_auto']['steps'] > 0
    evs = lambda kind: [json.loads(l)['data'] for l in (run/'journal.jsonl').read_text().splitlines() if json.loads(l)['data'].get('event') == kind]
    ev = evs('lr_auto')
    assert len(ev) == 1 and ev[0]['lr'] == cfg['lr'] and 'range test' in ev[0]['message']
    r = metacog('train', '--resume', run, '--steps', '30', '--quiet', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((run/'config.json').read_text())['lr'] == cfg['lr']
    assert len(evs('resume')) == 1 and len(evs('lr_auto')) == 1   # the resume is journaled, and runs no second range test

def test_bad_corpus_files(tmp_path):
    (tmp_path/'empty.txt').write_text('   \n')
    (tmp_path/'bin.txt').write_bytes(b'abc\x00\x01\x02' * 10)
    (tmp_path/'latin.txt').write_bytes('caf\xe9 olé'.encode('latin-1'))
    for f in ['empty.txt', 'bin.txt', 'latin.txt']:
        r = metacog('train', '--corpus', f, cwd=tmp_path)
        assert r.returncode == 2 and 'Fix:' in r.stderr, (f, r.stderr[-2000:])

def _weights(run):
    from safetensors.torch import load_file
    return load_file(str(run/'model'/'model.safetensors'))

def test_kill_and_resume(tmp_path):
    "A run killed with SIGKILL after a checkpoint resumes and ends with exactly the weights of an uninterrupted run, the cycle acting."
    # --lr 3 is far too high: the cycle diagnoses and acts all along, and its experiments in flight are part of each checkpoint
    common = ['--preset', 'micro', '--steps', '120', '--lr', '3', '--eval-every', '20', '--batch-size', '8', '--max-length', '32', '--quiet']
    (tmp_path/'a').mkdir(); (tmp_path/'runs').mkdir()
    assert metacog('train', *common, '--name', 'straight', cwd=tmp_path/'a').returncode == 0
    acts = [json.loads(l) for l in (tmp_path/'a'/'runs'/'straight'/'journal.jsonl').read_text().splitlines()]
    assert sum(r['kind'] == 'action' for r in acts) >= 2   # the cycle acted
    shutil.move(tmp_path/'a'/'runs'/'straight', tmp_path/'runs'/'straight')   # each run starts from its own, empty strategy file
    p = subprocess.Popen(['metacog', 'train', *common, '--name', 'killed'], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(tmp_path))
    latest = tmp_path/'runs'/'killed'/'checkpoints'/'latest.json'
    while not (latest.exists() and json.loads(latest.read_text())['step'] >= 40):
        assert p.poll() is None, 'the run ended before it could be killed'
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    assert not (tmp_path/'runs'/'killed'/'model').exists()
    r = metacog('train', *common, '--resume', tmp_path/'runs'/'killed', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = _weights(tmp_path/'runs'/'straight'), _weights(tmp_path/'runs'/'killed')
    assert a.keys() == b.keys()
    for k in a: assert torch.equal(a[k], b[k]), k
    kinds = [json.loads(l)['data'].get('event') for l in (tmp_path/'runs'/'killed'/'journal.jsonl').read_text().splitlines()]
    assert 'resume' in kinds
    rows = lambda n: [l.split(',')[:-1] for l in (tmp_path/'runs'/n/'metrics.csv').read_text().splitlines()]   # all but the seconds
    assert rows('straight') == rows('killed')

def test_help_lists_commands(tmp_path):
    r = metacog('--help', cwd=tmp_path)
    assert r.returncode == 0
    for c in ['train', 'generate', 'export', 'bench']: assert c in r.stdout

def test_train_prints_no_warning(tmp_path):
    "A `metacog train` prints no warning that metacog causes or can silence at its source, and its last line is rounded"
    r = metacog('train', '--preset', 'micro', '--steps', '20', '--eval-every', '10', '--batch-size', '8', '--max-length', '32',
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    noise = [l for l in (r.stdout + r.stderr).splitlines() if 'Warning' in l or 'deprecated' in l or 'model shards' in l]
    assert noise == [], noise
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith('done: valid loss') and len(last.split(',')[0].split()[-1]) <= 6, last
