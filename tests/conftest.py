"Shared by the tests: the headless plot backend, and the one way a test runs the `metacog` command as a user would."
import os, subprocess
os.environ.setdefault('MPLBACKEND', 'Agg')

def user_env(home, **extra): # the user's home folder (the cycle's strategy file lives there); more variables
    "The environment of a user whose home is `home`"
    return {**os.environ, 'HOME': str(home), **extra}

def metacog(*args, cwd, timeout=None, env=None):   # no wall-clock bound by default: a loaded machine is slow, not wrong
    "Run the installed `metacog` entry point in `cwd` (home: `cwd`, unless `env` is given); the CompletedProcess"
    return subprocess.run(['metacog', *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=user_env(cwd) if env is None else env)
