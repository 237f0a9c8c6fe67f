"`metacog report` end to end, through the installed entry point, on a run directory with a real journal."
import subprocess
from pathlib import Path
import torch

from conftest import metacog

def test_report_cli(tmp_path):
    torch.set_num_threads(1)
    from metacog.faults import run_fault
    run = tmp_path/'run'
    r = run_fault('lr_low', run_dir=run, steps=40, bs=8, seq_len=32, intro_kw=dict(every=5, act_every=10, snr_every=20))
    assert r['detected']
    p = metacog('report', run, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert 'lr too low' in p.stdout and 'update/weight ratio' in p.stdout, p.stdout
    assert {'loss_diagnoses.png', 'grad_norms.png', 'activations.png', 'attention_entropy.png'} <= {f.name for f in (run/'plots').iterdir()}

def test_report_no_journal(tmp_path):
    p = metacog('report', tmp_path, cwd=tmp_path)
    assert p.returncode == 2 and 'no journal records' in p.stderr and 'Fix:' in p.stderr, p.stderr[-2000:]
    p = metacog('report', tmp_path/'missing', cwd=tmp_path)
    assert p.returncode == 2 and 'does not exist' in p.stderr
