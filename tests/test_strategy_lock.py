"The strategy file shared by runs is updated by a locked read-merge-write: N processes lose no update (issue #17, case 5)"
import multiprocessing as mp, json
import pytest
from metacog.strategy import Strategy

N_PROC, K = 4, 50

def _updates(path, k, kind): # one process: `k` outcomes, each saved at once (as the cycle saves them)
    s = Strategy(path, seed=0)
    for i in range(k): s.update(kind, 'lr_up', i % 2 == 0)

def _run(path, kinds):
    ps = [mp.get_context('fork').Process(target=_updates, args=(path, K, kd)) for kd in kinds]
    for p in ps: p.start()
    for p in ps: p.join(120)
    assert [p.exitcode for p in ps] == [0]*len(ps)

def test_no_update_lost(tmp_path):
    f = tmp_path/'strategies.json'
    _run(f, ['plateau']*N_PROC)
    assert Strategy(f).counts('plateau', 'lr_up') == (N_PROC*((K+1)//2), N_PROC*(K//2))

def test_other_kinds_and_earlier_counts_kept(tmp_path):
    f = tmp_path/'strategies.json'
    s = Strategy(f); s.update('lr_too_high', 'lr_down', True)          # a count another run left in the file
    _run(f, ['plateau', 'oscillation', 'plateau'])
    st = json.loads(f.read_text())['stats']
    assert st['lr_too_high'] == {'lr_down': [1, 0]}
    assert sum(st['plateau']['lr_up']) == 2*K and sum(st['oscillation']['lr_up']) == K
