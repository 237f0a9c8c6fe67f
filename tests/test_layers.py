"The layers of DESIGN.md, checked on the generated modules: no module imports a higher layer (so no circle), and none imports a metacog module inside a function."
import ast
from pathlib import Path
import pytest

PKG = Path(__file__).parent.parent/'metacog'
# DESIGN.md's layers. Benchmarks, the command line and `all` sit on top; test fixtures beside the training foundation.
LAYERS = {
    0: ['core'],
    1: ['data', 'model'],
    2: ['train', 'test_utils'],
    3: ['iit', 'introspect', 'growth', 'selfq', 'rag', 'lora'],
    4: ['reflect', 'faults', 'modify', 'delta', 'export'],
    5: ['strategy', 'cycle', 'improve', 'federated', 'distributed'],
    6: ['report', 'dashboard'],
    7: ['cli', 'bench', 'all'],
}
# The command line imports the library inside each command, so that `metacog -h` and `metacog COMMAND -h` answer without
# importing PyTorch (DESIGN's contract; tests/test_cli_help.py checks it). It is the only module allowed to.
LATE_OK = {'cli'}
LAYER = {m: l for l, ms in LAYERS.items() for m in ms}
def layer(mod):
    "The layer of a module name (`bench_*` modules are benchmarks: layer 7)"
    return 7 if mod.startswith('bench_') else LAYER.get(mod)
MODULES = sorted(p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_'))

def metacog_imports(tree):
    "(node, imported metacog module) for every import of a metacog module in `tree`"
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            if n.level == 1 and n.module: yield n, n.module.split('.')[0]
            elif n.level == 1: yield from ((n, a.name) for a in n.names)
            elif n.module and n.module.startswith('metacog.'): yield n, n.module.split('.')[1]
            elif n.module == 'metacog': yield from ((n, a.name) for a in n.names)
        elif isinstance(n, ast.Import):
            yield from ((n, a.name.split('.')[1]) for a in n.names if a.name.startswith('metacog.'))

def in_function(tree):
    "ids of the import nodes that sit inside a function or method"
    ids = set()
    for f in ast.walk(tree):
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            ids |= {id(n) for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return ids

def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer(m) is None] == []

@pytest.mark.parametrize('mod', MODULES)
def test_imports_go_down(mod):
    tree = ast.parse((PKG/f'{mod}.py').read_text())
    inner = in_function(tree)
    up = [(m, n.lineno) for n, m in metacog_imports(tree) if m in LAYER or m.startswith('bench')
          if layer(m) > layer(mod) or (layer(m) == layer(mod) and m == mod)]
    assert up == [], f"metacog.{mod} (layer {layer(mod)}) imports a higher layer: {up}"
    late = [(m, n.lineno) for n, m in metacog_imports(tree) if id(n) in inner]
    if mod in LATE_OK: return
    assert late == [], f"metacog.{mod} imports metacog modules inside functions: {late}"
    assert 'importlib' not in (PKG/f'{mod}.py').read_text().replace('importlib.resources', ''), f"metacog.{mod} uses importlib"

def test_all_reexports_the_library_only():
    tree = ast.parse((PKG/'all.py').read_text())
    mods = {m for _, m in metacog_imports(tree)}
    assert not mods & {'cli', 'bench', 'test_utils'} and not any(m.startswith('bench') for m in mods), mods
    lib = {m for m in MODULES if layer(m) < 7 and m != 'test_utils'}
    assert lib <= mods, f"metacog.all misses {lib - mods}"

def test_the_checker_catches_an_upward_import(tmp_path):
    "The test is not vacuous: an upward import and a late import are found"
    tree = ast.parse("from .cycle import MetacogCallback\ndef f():\n    from metacog.train import metacog_learner\n")
    found = [(m, id(n) in in_function(tree)) for n, m in metacog_imports(tree)]
    assert found == [('cycle', False), ('train', True)]
    assert layer('cycle') > layer('introspect')
