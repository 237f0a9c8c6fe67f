"`metacog finetune BASE --lora` end to end, as a user runs it, on a tiny run: the adapter, the merged model, the delta, bad input."
import json, shutil
from pathlib import Path
import pytest, torch
from safetensors.torch import load_file

from conftest import metacog

TINY = ['--preset', 'micro', '--steps', '20', '--batch-size', '8', '--max-length', '32', '--eval-every', '10', '--quiet']
FT = ['--steps', '12', '--batch-size', '8', '--eval-every', '6', '--quiet']

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A tiny run directory made by `metacog train`"
    home = tmp_path_factory.mktemp('ft')
    r = metacog('train', *TINY, '--name', 'base', cwd=home)
    assert r.returncode == 0, r.stderr[-3000:]
    return home/'runs'/'base'

def _sums(p): # a folder
    from metacog.core import folder_sums
    return folder_sums(p, skip=())

def test_lora_merge_delta(run):
    "The adapter trains; the merged model is W + B A alpha/r and loads with transformers; the delta verifies and a tampered copy is refused; BASE is unchanged."
    before = _sums(run/'model')
    r = metacog('finetune', run, '--lora', '--merge', '--delta', '--node-id', 'node-7', '--r', '4', '--alpha', '8', *FT, cwd=run.parent.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    out = run/'finetune-1'
    for f in ['journal.jsonl', 'metrics.csv', 'config.json', 'plots/loss.png', 'adapter/adapter_model.safetensors',
              'adapter/adapter_config.json', 'model/config.json', 'model/model.safetensors', 'model/tokenizer.json', 'delta/manifest.json']:
        assert (out/f).is_file(), f
    assert _sums(run/'model') == before                                   # BASE is never changed
    rows = (out/'metrics.csv').read_text().splitlines()
    assert rows[0].startswith('step,') and len(rows) == 3                 # header + two evaluations (12 steps, every 6)
    jr = [json.loads(l) for l in (out/'journal.jsonl').read_text().splitlines()]
    ev = {r['data'].get('event'): r['data'] for r in jr if r['kind'] == 'event'}
    assert 'run_start' in ev and 'run_end' in ev and any(r['kind'] == 'observation' for r in jr)
    cfg = json.loads((out/'config.json').read_text())
    assert cfg['after']['valid_loss'] < cfg['before']['valid_loss']       # the adapter trained
    # the merged weights are the base's plus B A alpha/r, computed here from the files alone
    from transformers import AutoModelForCausalLM
    merged = AutoModelForCausalLM.from_pretrained(out/'model')
    w, ad = load_file(str(run/'model'/'model.safetensors')), load_file(str(out/'adapter'/'adapter_model.safetensors'))
    mw = merged.state_dict()
    n = 0
    for k, v in w.items():
        pre = 'base_model.model.' + k[:-len('.weight')]
        if pre + '.lora_A.weight' in ad:
            want = v + ad[pre + '.lora_B.weight'] @ ad[pre + '.lora_A.weight'] * (8 / 4)
            assert torch.allclose(mw[k], want, atol=1e-6), k; n += 1
        else: assert torch.equal(mw[k], v), k
    assert n == 4                                                          # q, k, v, o of the micro model's one layer
    # the delta: verified against the base, refused for another base and when a file is changed
    from metacog.model import load_model
    from metacog.delta import load_delta, apply_delta, DeltaError
    base, tok = load_model(run/'model')
    d = load_delta(out/'delta', base=base)
    assert d.node_id == 'node-7' and d.n_examples > 0 and d.metrics['after']['valid_loss'] == cfg['after']['valid_loss']
    assert set(d.manifest['sha256']) == {'adapter_model.safetensors', 'adapter_config.json'}   # no data, only the adapter
    x = torch.tensor([tok.encode('the cat is', add_special_tokens=False)])
    with torch.no_grad(): assert torch.allclose(apply_delta(base, d)(x), merged(input_ids=x).logits, atol=1e-5)
    other, _ = load_model(run/'model')
    with torch.no_grad(): next(other.parameters()).add_(1e-3)
    with pytest.raises(DeltaError, match='another base model'): load_delta(out/'delta', base=other)
    bad = out.parent/'tampered'; shutil.copytree(out/'delta', bad)
    b = bytearray((bad/'adapter_model.safetensors').read_bytes()); b[-1] ^= 1; (bad/'adapter_model.safetensors').write_bytes(bytes(b))
    with pytest.raises(DeltaError, match='changed since it was packed'): load_delta(bad)

def test_bare_folder_every_weight(run, tmp_path):
    "A save_pretrained folder outside any run, every weight trained (no --lora): a new folder beside it, the base untouched."
    src = tmp_path/'mymodel'; shutil.copytree(run/'model', src)
    before = _sums(src)
    r = metacog('finetune', src, '--no-metacog', *FT, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path/'mymodel-finetune-1'
    assert (out/'model'/'model.safetensors').is_file() and not (out/'adapter').exists()
    assert _sums(src) == before
    a, b = load_file(str(src/'model.safetensors')), load_file(str(out/'model'/'model.safetensors'))
    assert all(not torch.equal(a[k], b[k]) for k in a if k.endswith('q_proj.weight'))   # every weight trained

@pytest.mark.parametrize('args,needle', [
    (['--steps', '0'], '--steps must be a finite whole number in [1, inf], got 0'),
    (['--r', '0'], '--r must be a finite whole number in [1, inf], got 0'),
    (['--alpha', '-1'], '--alpha must be'),
    (['--merge', '--no-metacog'], '--merge needs --lora'),
])
def test_bad_options(run, args, needle):
    before = sorted(p.name for p in run.iterdir())
    r = metacog('finetune', run, *(['--lora'] if '--merge' not in args else []), *args, cwd=run.parent.parent)
    assert r.returncode == 2 and needle in r.stderr and 'Fix:' in r.stderr, r.stderr[-2000:]
    assert sorted(p.name for p in run.iterdir()) == before                # nothing written

def test_not_a_model_folder(tmp_path):
    (tmp_path/'empty').mkdir()
    for base, needle in ((tmp_path/'empty', 'is not a model folder'), (tmp_path/'nowhere', 'no such folder')):
        r = metacog('finetune', base, '--lora', cwd=tmp_path)
        assert r.returncode == 2 and needle in r.stderr and 'Fix:' in r.stderr, r.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['empty'] and not any((tmp_path/'empty').iterdir())
