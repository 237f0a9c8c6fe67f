"""Run by tests/test_distributed.py under torchrun (2 gloo ranks): `python -m torch.distributed.run --standalone
--nproc_per_node 2 tests/dist_worker.py MODE OUT`. Each rank writes OUT/rank{R}.json with what the test compares."""
import os, sys, json, math
from pathlib import Path
import torch, torch.distributed as dist
from fastcore.foundation import L
from fastai.callback.core import Callback
from metacog.core import Diagnosis, Journal
from metacog.data import bundled_corpus, char_tokenizer, encode, lm_dls
from metacog.model import make_model
from metacog.train import metacog_learner
from metacog.cycle import metacog_cbs
from metacog.test_utils import Diagnose, Sabotage
from metacog.distributed import init_distributed, shard_dls, DataParallel, OneMind, weights_checksum, world

def cycle(out):
    """The cycle on 2 ranks, with a diagnosis that only rank 0 sees at step 6 (both ranks must act on it alike), and rank 1's
    weights alone poisoned at step 72 (the repair must restore the same weights on both)"""
    rank = world()[0]
    text = bundled_corpus()[:40_000]; tok = char_tokenizer(text)
    dls = shard_dls(lm_dls(encode(tok, text), bs=8, seq_len=32, steps_per_epoch=10, tok=tok, seed=0, device=DEV))
    model = make_model('micro', vocab_size=len(tok), max_length=32, seed=0)
    def diag(step, learn):   # rank 1 never sees it: only OneMind's broadcast can tell it
        if rank == 0 and step == 6:
            return [Diagnosis('lr_too_high', 'warning', 0.9, dict(update_ratio=0.5), ['lr_down'], step, "injected on rank 0")]
        return []
    cbs = L(metacog_cbs(strategy_file=None, introspection=1)) + [Diagnose(diag), DataParallel(), OneMind()]
    if rank == 1: cbs.append(Sabotage(72))   # rank 1's weights alone become NaN at step 72: a rollback must make them rank 0's again
    learn = metacog_learner(dls, model, lr=3e-3, cbs=cbs, journal=Journal(None), max_nonfinite=20)   # the cycle repairs (as `metacog train`)
    lrs = []
    class _LR(Callback):   # the learning rate of each step
        order = 99
        def after_batch(self):
            if self.training: lrs.append(float(self.learn.opt.hypers[0]['lr']))
    learn.add_cb(_LR())
    with learn.no_bar(), learn.no_logging(): learn.fit_steps(90, 3e-3)
    j = learn.journal
    res = dict(rank=rank, weights=weights_checksum(learn.model), lrs=lrs,
               actions=[(r['step'], r['data'].get('action')) for r in j.filter('action')],
               outcomes=[(r['step'], r['data'].get('action'), r['data'].get('decision')) for r in j.filter('outcome')],
               agree=[r['data']['agree'] for r in j.filter('event', event='ranks')],
               restored=[r['step'] for r in j.filter('outcome') if r['data'].get('restored')],
               finite=all(bool(torch.isfinite(p).all()) for p in learn.model.parameters()))
    Path(out, f"rank{rank}.json").write_text(json.dumps(res))

def fastai_ddl(out):
    "fastai's own DistributedDL on gloo ranks (metacog's patch of its CUDA-only broadcast)"
    from fastai.distributed import DistributedDL
    from fastai.data.load import DataLoader
    rank = world()[0]
    dl = DataLoader(list(range(20)), bs=5, shuffle=True)
    ddl = DistributedDL(dl)
    got = [int(x) for b in ddl for x in b]
    from metacog.distributed import _fastai_broadcast
    try: _fastai_broadcast(ddl, [1, 2], 0); unpatched = 'ran'   # fastai's own: `.cuda()` first
    except Exception as e: unpatched = type(e).__name__
    Path(out, f"rank{rank}.json").write_text(json.dumps(dict(rank=rank, items=got, unpatched=unpatched)))

if __name__ == '__main__':
    mode, out = sys.argv[1], sys.argv[2]
    DEV = init_distributed(os.environ.get('METACOG_TEST_DEVICE', 'cpu'))
    try: dict(cycle=cycle, fastai_ddl=fastai_ddl)[mode](out)
    finally: dist.destroy_process_group()
