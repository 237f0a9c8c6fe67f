"""Federation on Flower's deployment engine, once end to end on 127.0.0.1: a SuperLink with TLS and SuperNode authentication
(only registered public keys may connect), runtime dependency installation disabled; two SuperNodes with keys the test makes;
`flwr run` of the app `metacog.federated.flower_app` writes; the deployed adapter checked."""
import datetime, ipaddress, json, os, socket, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import metacog

pytest.importorskip('flwr', reason='the federated extra is not installed (pip install "metacog[federated]")')
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _certs(d:Path):
    "A CA and the SuperLink's certificate for 127.0.0.1, signed by it (PEM files in `d`)"
    d.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'metacog test CA')])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1)).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1')), x509.DNSName('localhost')]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (d/'ca.crt').write_bytes(ca.public_bytes(pem))
    (d/'server.pem').write_bytes(cert.public_bytes(pem))
    (d/'server.key').write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return d

def _node_keys(d:Path, name:str):
    "An EC key pair in OpenSSH format, as `ssh-keygen -t ecdsa -b 384` writes it: (private, public) paths"
    k = ec.generate_private_key(ec.SECP384R1())
    (d/name).write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    (d/f"{name}.pub").write_bytes(k.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    return d/name, d/f"{name}.pub"

def _wait_port(port, timeout=60):
    t = time.time()
    while time.time() - t < timeout:
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) == 0: return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")

def test_deployment_engine(tmp_path):
    r = metacog('train', '--out', tmp_path, '--name', 'base', '--preset', 'micro', '--steps', '4', '--eval-every', '4',
                '--batch-size', '4', '--max-length', '32', '--no-metacog', '--introspection', '0', '--quiet', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from metacog.federated import prepare_federation, flower_app
    cfg = prepare_federation(tmp_path/'base', 2, out=tmp_path/'fed', rounds=2, local_steps=2, bs=4, seq_len=32)
    app = flower_app(tmp_path/'app', Path(cfg.out)/'config.json')
    certs = _certs(tmp_path/'certs'); keys = tmp_path/'keys'; keys.mkdir()
    home = tmp_path/'flwr-home'; home.mkdir()
    port = _free_port()
    (home/'config.toml').write_text(f'[superlink]\ndefault = "local-deployment"\n\n[superlink.local-deployment]\n'
                                    f'address = "127.0.0.1:{port}"\nroot-certificates = "{certs/"ca.crt"}"\n')
    env = {**os.environ, 'FLWR_HOME': str(home), 'FLWR_TELEMETRY_ENABLED': '0', 'HOME': str(tmp_path)}
    procs, logs = [], {}
    def start(name, *cmd):
        logs[name] = open(tmp_path/f"{name}.log", 'w')
        procs.append(subprocess.Popen(list(map(str, cmd)), stdout=logs[name], stderr=subprocess.STDOUT, env=env, cwd=tmp_path))
    def log(name): return (tmp_path/f"{name}.log").read_text()[-3000:]
    try:
        start('superlink', 'flower-superlink', '--ssl-ca-certfile', certs/'ca.crt', '--ssl-certfile', certs/'server.pem',
              '--ssl-keyfile', certs/'server.key', '--enable-supernode-auth', '--disable-runtime-dependency-installation',
              '--host', '127.0.0.1', '--port', port, '--database', tmp_path/'state.db')
        _wait_port(port)
        for i in range(2):
            priv, pub = _node_keys(keys, f"node{i}")
            reg = subprocess.run(['flwr', 'supernode', 'register', str(pub)], capture_output=True, text=True, env=env, cwd=tmp_path)
            assert reg.returncode == 0, reg.stdout + reg.stderr
            start(f"node{i}", 'flower-supernode', '--superlink', f"127.0.0.1:{port}", '--root-certificates', certs/'ca.crt',
                  '--auth-supernode-private-key', priv, '--node-config', f"partition-id={i}", '--port', _free_port())
        run = subprocess.run(['flwr', 'run', str(app), '--stream'], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + log('superlink')
        for _ in range(600):   # the ServerApp writes model/ last
            if (Path(cfg.out)/'model'/'config.json').exists(): break
            time.sleep(1)
        out = Path(cfg.out)
        assert (out/'model'/'config.json').exists(), log('superlink') + log('node0')
        recs = [json.loads(l) for l in (out/'journal.jsonl').read_text().splitlines()]
        assert [x['step'] for x in recs if x['data'].get('event') == 'round'] == [1, 2]
        assert {x['data']['node'] for x in recs if x['data'].get('event') == 'delta_received'} == {'node-0', 'node-1'}
        dep = json.loads((out/'adapter'/'deployed.json').read_text())
        assert dep['round'] in (0, 1, 2) and (out/'adapter'/'adapter_model.safetensors').exists()
        assert (out/'metrics.csv').exists() and (out/'plots'/'metrics_grid.png').exists() and (out/'env_report.json').exists()
    finally:
        for p in procs[::-1]: p.terminate()
        for p in procs:
            try: p.wait(20)
            except subprocess.TimeoutExpired: p.kill()
        for f in logs.values(): f.close()
