"""Distributed training with 2 CPU processes (gloo), as `metacog train --nproc 2` and torchrun run it: the ranks stay one
mind (equal weights, the same decisions), 2 ranks train what 1 process trains with the same global batch, a killed rank
stops the run with its last good checkpoint intact, and a 2-rank checkpoint resumes on 1 rank."""
import os, sys, json, time, signal, subprocess
from pathlib import Path
import pytest
from conftest import metacog, user_env

HERE = Path(__file__).parent
DEVICE = os.environ.get('METACOG_TEST_DEVICE')   # `METACOG_TEST_DEVICE=cuda pytest tests/test_distributed.py`: the same tests with NCCL
TINY = ['--preset', 'micro', '--batch-size', '8', '--max-length', '32', '--eval-every', '10', '--valid-windows', '64', '--quiet',
        *(['--device', DEVICE] if DEVICE else [])]
pytestmark = pytest.mark.skipif((len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()) < 2,
                                reason="two CPU ranks need two cores")

def torchrun(tmp, mode):
    "Run tests/dist_worker.py MODE on 2 gloo ranks; the two ranks' results"
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', str(HERE/'dist_worker.py'), mode, str(tmp)],
                       capture_output=True, text=True, env={**user_env(tmp), 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    return [json.loads((tmp/f"rank{i}.json").read_text()) for i in (0, 1)]

def rows(run): # a run directory
    lines = (run/'metrics.csv').read_text().split('\n'); head = lines[0].split(',')
    return [dict(zip(head, map(float, l.split(',')))) for l in lines[1:] if l]

def events(run, name):
    return [json.loads(l)['data'] for l in (run/'journal.jsonl').read_text().splitlines() if f'"event": "{name}"' in l]

def test_two_ranks_train_what_one_process_trains(tmp_path):
    for n in (1, 2):
        r = metacog('train', '--nproc', n, '--steps', 20, '--no-metacog', '--out', 'runs', '--name', f'n{n}', *TINY, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
    one, two = rows(tmp_path/'runs'/'n1'), rows(tmp_path/'runs'/'n2')
    assert [r['step'] for r in two] == [10, 20]
    for a, b in zip(one, two):   # the same global batch: the same losses, up to floating-point rounding
        for k in ('train_loss', 'valid_loss', 'tokens_seen'): assert b[k] == pytest.approx(a[k], rel=1e-5), k
    run = tmp_path/'runs'/'n2'
    assert [e['world_size'] for e in events(run, 'distributed')] == [2]
    ranks = events(run, 'ranks'); assert len(ranks) == 2 and all(e['agree'] for e in ranks)
    assert all(len({r['weights'] for r in e['ranks']}) == 1 for e in ranks)   # both ranks' weights, gathered: equal
    assert (run/'model'/'config.json').exists() and (run/'env_report.json').exists()
    assert not (tmp_path/'runs'/'n2-1').exists()   # every rank wrote into the one reserved run directory

def test_one_mind_acts_on_every_rank(tmp_path):
    a, b = torchrun(tmp_path, 'cycle')   # a diagnosis only rank 0 sees, at step 6; rank 1's weights alone NaN at step 72
    assert a['actions'][0][0] == 6 and a['actions'] == b['actions']   # rank 1 acted on it, at the same step
    assert a['outcomes'] == b['outcomes'] and any(o[2] in ('kept', 'reverted') for o in a['outcomes'])   # an A/B arm was judged alike
    assert a['restored'] == b['restored'] and any(s >= 72 for s in a['restored'])   # the poisoned state was repaired from a snapshot
    assert a['finite'] and b['finite'] and a['weights'] == b['weights']   # ... the same one on both ranks
    assert a['agree'] == [True]*9   # checked at every evaluation (10, 20, ..., 90)

def test_fastai_distributed_dl_on_gloo(tmp_path):
    a, b = torchrun(tmp_path, 'fastai_ddl')   # fastai's DistributedDL with metacog's patch of its broadcast
    assert sorted(a['items'] + b['items']) == list(range(20)) and not set(a['items']) & set(b['items'])
    if not DEVICE: assert a['unpatched'] != 'ran'   # fastai's own broadcast moves to CUDA first: it fails on CPU ranks

def _rank_pid(root_pid, rank): # the process of `rank` among the descendants of `root_pid`
    for p in Path('/proc').iterdir():
        if not p.name.isdigit(): continue
        try:
            env = (p/'environ').read_bytes().split(b'\0')
            if f'RANK={rank}'.encode() not in env or b'LOCAL_RANK=' + str(rank).encode() not in env: continue
            q = int(p.name)
            while q > 1:
                if q == root_pid: return int(p.name)
                q = int((Path('/proc')/str(q)/'stat').read_text().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError): continue

@pytest.mark.skipif(not Path('/proc/self/environ').exists(), reason="finds the rank's process through /proc (Linux)")
def test_killed_rank_stops_the_run_and_it_resumes_on_one_rank(tmp_path):
    p = subprocess.Popen(['metacog', 'train', '--nproc', '2', '--steps', '2000', '--no-metacog', '--out', 'runs', '--name', 'k', *TINY],
                         cwd=tmp_path, env=user_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = tmp_path/'runs'/'k'
    try:
        while not (run/'checkpoints'/'latest.json').exists():
            assert p.poll() is None, p.communicate()[1][-3000:]
            time.sleep(0.5)
        pid = _rank_pid(p.pid, 1); assert pid is not None
        os.kill(pid, signal.SIGKILL)
        out, err = p.communicate(timeout=300)   # the other rank must stop, not hang (torchrun, and the collectives' timeout)
    finally:
        if p.poll() is None: p.kill()
    assert p.returncode != 0 and 'a rank failed' in err, err[-3000:]
    from metacog.train import find_checkpoint, checkpoint_problem
    ck = find_checkpoint(run)[0]; assert ck is not None and checkpoint_problem(ck) is None   # the last good checkpoint is whole
    step = json.loads((ck/'state.json').read_text())['step']
    r = metacog('train', '--resume', run, '--steps', step + 10, '--quiet', cwd=tmp_path)   # the 2-rank checkpoint on 1 rank
    assert r.returncode == 0, r.stderr[-3000:]
    assert events(run, 'resume')[-1]['message'].startswith(f"step {step}: resumed")
    assert rows(run)[-1]['step'] == step + 10 and (run/'model'/'config.json').exists()

@pytest.mark.parametrize('args,msg', [(['--nproc', '0'], '--nproc must be'), (['--nproc', '64'], 'asks for more'),
                                      (['--nproc', '2', '--batch-size', '7'], 'does not split over'),
                                      (['--nproc', '2', '--grow-to', '1'], 'cannot be used with --nproc')])
def test_bad_nproc_is_refused_before_anything_is_written(tmp_path, args, msg):
    r = metacog('train', '--out', 'runs', '--steps', 5, '--preset', 'micro', *args, *(['--device', DEVICE] if DEVICE else []), cwd=tmp_path)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert not (tmp_path/'runs').exists()
