"Growth with the real Learner, checkpoints and command line (awkward in a notebook: run directories, resume, CLI)"
import json, warnings
import torch
from transformers import AutoModelForCausalLM
from fastcore.test import test_eq as eq_
warnings.filterwarnings('ignore')

from metacog.core import read_journal
from metacog.data import char_tokenizer, encode, lm_dls, bundled_corpus
from metacog.model import make_model, LMWrapper
from metacog.growth import growth_cbs, model_sizes, hf_model, fixed_loss
from metacog.train import metacog_learner, latest_checkpoint, load_checkpoint
from metacog.cli import main


def _dls(steps_per_epoch=4, seed=0):
    text = bundled_corpus()[:60_000]
    tok = char_tokenizer(text)
    return lm_dls(encode(tok, text), bs=4, seq_len=16, steps_per_epoch=steps_per_epoch, tok=tok, seed=seed, device='cpu')


def test_grow_during_fit_checkpoint_and_resume(tmp_path):
    "A run grows micro -> tiny at step 4; its checkpoint (grown model + moved AdamW state) reloads and resumes"
    dls = _dls()
    learn = metacog_learner(dls, make_model('micro', vocab_size=len(dls.tok), seed=0), lr=1e-3, run_dir=tmp_path/'run',
                            checkpoint_every=4, cbs=growth_cbs('tiny', grow_every=4))
    with learn.no_bar(): learn.fit_steps(8)
    eq_(model_sizes(learn)['hidden_size'], 64)
    ev = [r for r in read_journal(tmp_path/'run') if r['data'].get('event') == 'growth']
    eq_(len(ev), 1); eq_(ev[0]['step'], 4)
    assert abs(ev[0]['data']['loss_change']) < 1e-5
    ck = latest_checkpoint(tmp_path/'run')
    state = json.loads((ck/'state.json').read_text())
    eq_(state['step'], 8); eq_(state['model_config']['hidden_size'], 64)
    # rebuild as `metacog train --resume` does: the model from the checkpoint's config, a fresh Learner, then load
    from transformers import LlamaConfig
    model = make_model(LlamaConfig.from_dict(state['model_config']), seed=1)
    learn2 = metacog_learner(_dls(), model, lr=1e-3, run_dir=tmp_path/'run', checkpoint_every=4,
                             cbs=growth_cbs('tiny', grow_every=4))
    st = load_checkpoint(learn2, ck)
    for (n, a), b in zip(hf_model(learn).state_dict().items(), hf_model(learn2).state_dict().values()):
        assert torch.equal(a, b), n
    s1, s2 = learn.opt.opt.state, learn2.opt.opt.state
    for p1, p2 in zip(hf_model(learn).parameters(), hf_model(learn2).parameters()):
        assert torch.equal(s1[p1]['exp_avg_sq'], s2[p2]['exp_avg_sq'])
    with learn2.no_bar(): learn2.fit_steps(12, start_step=st['step'], rng=st['rng'])
    eq_(learn2.train_iter, 12)
    eq_(model_sizes(learn2)['hidden_size'], 64)       # already at the target: no second growth
    assert len([r for r in read_journal(tmp_path/'run') if r['data'].get('event') == 'growth']) == 1
    # the grown model leaves in the standard format
    learn2.save_pretrained(tmp_path/'out')
    m = AutoModelForCausalLM.from_pretrained(tmp_path/'out')
    x, y = next(iter(dls.valid))
    assert abs(fixed_loss(m, x, y) - fixed_loss(learn2, x, y)) < 1e-5


def test_cli_grow(tmp_path):
    "`metacog train` then `metacog grow RUN --to-age tiny`: same function, bigger model, journaled"
    corpus = tmp_path/'c.txt'; corpus.write_text(bundled_corpus()[:30_000])
    main(['train', '--corpus', str(corpus), '--out', str(tmp_path), '--name', 'r', '--preset', 'micro', '--steps', '10',
          '--batch-size', '4', '--max-length', '16', '--eval-every', '5', '--quiet'])
    run = tmp_path/'r'
    old = AutoModelForCausalLM.from_pretrained(run/'model')
    x = torch.randint(0, old.config.vocab_size, (2, 16))
    main(['grow', str(run), '--to-age', 'tiny', '--out', str(tmp_path/'grown')])
    new = AutoModelForCausalLM.from_pretrained(tmp_path/'grown')
    eq_(new.config.hidden_size, 64)
    with torch.no_grad(): assert (old(x).logits - new(x).logits).abs().max() < 1e-5
    assert (tmp_path/'grown'/'tokenizer.json').exists() or (tmp_path/'grown'/'tokenizer_config.json').exists()
    eq_(read_journal(run)[-1]['data']['event'], 'growth')
    eq_(main(['grow', str(tmp_path/'grown'), '--to-age', 'micro', '--out', str(tmp_path/'g2')]), 2)   # smaller: a clear error, exit 2
    assert not (tmp_path/'g2').exists()
