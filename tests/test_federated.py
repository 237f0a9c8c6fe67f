"Federation on Flower's simulation engine (Ray), end to end: `metacog federate --simulate N`, and a tampered delta rejected by the server."
import json, os, subprocess, sys
from pathlib import Path
import pytest
from conftest import metacog

pytest.importorskip('flwr', reason='the federated extra is not installed (pip install "metacog[federated]")')

def _base(tmp_path):
    "A tiny base run: `metacog train` on the bundled corpus, a few steps"
    r = metacog('train', '--out', tmp_path, '--name', 'base', '--preset', 'micro', '--steps', '4', '--eval-every', '4',
                '--batch-size', '4', '--max-length', '32', '--no-metacog', '--introspection', '0', '--quiet', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return tmp_path/'base'

def test_federate_simulate(tmp_path):
    "Two simulated nodes, two rounds: every round's files are written, the deployed adapter loads and gives the journal's loss"
    base = _base(tmp_path)
    out = tmp_path/'fed'
    r = metacog('federate', '--simulate', '2', '--rounds', '2', '--base', base, '--out', out, '--local-steps', '3', '--bs', '4',
                '--seq-len', '32', '--aggregate', 'product', cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    recs = [json.loads(l) for l in (out/'journal.jsonl').read_text().splitlines()]
    rounds = [x['data'] for x in recs if x['data'].get('event') == 'round']
    assert [x['step'] for x in recs if x['data'].get('event') == 'round'] == [1, 2]
    assert all(x['aggregate'] == 'product' for x in rounds)
    got = {x['data']['node'] for x in recs if x['data'].get('event') == 'delta_received'}
    assert got == {'node-0', 'node-1'}
    for f in ('metrics.csv', 'plots/metrics_grid.png', 'env_report.json', 'rounds/001/env_report.json', 'rounds/002/env_report.json',
              'adapter/adapter_model.safetensors', 'adapter/deployed.json', 'model/config.json', 'rounds/002/node-1/manifest.json'):
        assert (out/f).exists(), f
    assert len((out/'metrics.csv').read_text().strip().splitlines()) == 3   # header + one row per round
    # the deployed adapter, loaded on the base, scores the validation loss the journal recorded
    code = f"""
import json, torch
from metacog.federated import FedConfig, _load_base
from metacog.lora import load_adapter
from metacog.improve import window_losses
cfg = FedConfig.load({str(out)!r})
dep = json.loads(open({str(out/'adapter'/'deployed.json')!r}).read())
m = load_adapter(_load_base(cfg.base), {str(out/'adapter')!r})
v = torch.load(cfg.valid, weights_only=True)
print(abs(float(window_losses(m, v, cfg.seq_len, cfg.gate_windows).mean()) - dep['valid_loss']))
"""
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert float(p.stdout.strip().splitlines()[-1]) < 1e-4

def test_tampered_delta_rejected(tmp_path):
    "A node whose delta changes after packing: the server's verification rejects it and journals why; the other is deployed"
    base = _base(tmp_path)
    code = f"""
from metacog.federated import federate
cfg, last = federate({str(base)!r}, 2, out={str(tmp_path/'fed')!r}, rounds=1, local_steps=2, bs=4, seq_len=32, tamper=[1], workers=1)
print('accepted', last['accepted'], 'rejected', last['rejected'])
"""
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    recs = [json.loads(l) for l in (tmp_path/'fed'/'journal.jsonl').read_text().splitlines()]
    rej = [x['data'] for x in recs if x['data'].get('event') == 'delta_rejected']
    assert [(x['node'], x['reason']) for x in rej] == [('node-1', 'verification')]
    assert 'changed since it was packed' in rej[0]['message']
    assert 'accepted 1 rejected 1' in p.stdout

def test_federate_bad_input(tmp_path):
    "Clear errors: no nodes, no base model"
    r = metacog('federate', '--simulate', '0', '--base', tmp_path, cwd=tmp_path)
    assert r.returncode != 0 and 'N >= 1' in r.stderr and 'Traceback' not in r.stderr
    r = metacog('federate', '--simulate', '2', cwd=tmp_path)
    assert r.returncode != 0 and '--base' in r.stderr and 'Traceback' not in r.stderr
    r = metacog('federate', '--simulate', '2', '--base', tmp_path/'nowhere', cwd=tmp_path)
    assert r.returncode != 0 and 'no base model' in r.stderr and 'Traceback' not in r.stderr
