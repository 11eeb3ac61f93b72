"""A throw-away PKI for the TLS tests, made at test time with the `openssl` CLI (OpenSSL 3.0):
certificate authorities, server certificates with chosen DNS/IP subjectAltNames (a right one, a
wrong-name one, an expired one), and client certificates for mTLS. Nothing here is committed:
every key and certificate lives in a temporary folder of the test session.

Keys are ECDSA P-256 (fast to make and to handshake with). Certificates are signed with
`openssl ca`, which (unlike `openssl x509 -req` in 3.0) takes an explicit start and end date, so
an expired certificate is a real one whose notAfter lies in the past.

    pki = PKI(tmp_dir)
    ca = pki.ca("Test Root")
    srv = pki.server("backend", dns=["backend.test"], ips=["127.0.6.10"], ca=ca)
    old = pki.server("old", dns=["backend.test"], ca=ca, expired=True)
    cli = pki.client("alice", ca=ca, dns=["alice.test"], uris=["spiffe://test/alice"])
    srv.cert, srv.key, srv.serial, srv.fingerprint

Standard library only.
"""
import itertools
import secrets
import subprocess
import textwrap
from pathlib import Path

TIMEOUT = 30  # seconds for one openssl command (each takes milliseconds)


def openssl(*args, cwd=None, input=None):
    """Runs `openssl args...`; fails with its output when it fails. Returns stdout (text)."""
    p = subprocess.run(["openssl", *map(str, args)], cwd=cwd, input=input, capture_output=True,
                       text=True, timeout=TIMEOUT)
    if p.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed ({p.returncode}):\n"
                             f"{p.stdout}\n{p.stderr}")
    return p.stdout


def new_key(path):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    return path


class Cert:
    """One issued certificate: its files and the facts tests compare (serial, fingerprint)."""

    def __init__(self, name, cert, key, ca=None):
        self.name, self.cert, self.key, self.ca = name, Path(cert), Path(key), ca
        self.serial = cert_serial(self.cert)
        self.fingerprint = cert_fingerprint(self.cert)
        self.subject = openssl("x509", "-in", self.cert, "-noout", "-subject",
                               "-nameopt", "RFC2253").strip().removeprefix("subject=")

    def __repr__(self):
        return f"<Cert {self.name} serial={self.serial} {self.cert}>"


def cert_serial(path):
    """The certificate's serial number, upper-case hex as `openssl x509 -serial` prints it."""
    return openssl("x509", "-in", path, "-noout", "-serial").strip().split("=", 1)[1].upper()


def cert_fingerprint(path):
    """The SHA-256 fingerprint, "AB:CD:..."."""
    return openssl("x509", "-in", path, "-noout", "-fingerprint", "-sha256").strip().split("=", 1)[1]


def pem_fingerprint(pem):
    """The SHA-256 fingerprint of a PEM certificate given as text (e.g. from s_client)."""
    return openssl("x509", "-noout", "-fingerprint", "-sha256", input=pem).strip().split("=", 1)[1]


def not_after(path):
    """notAfter as openssl prints it ("Jan  1 00:00:00 2030 GMT")."""
    return openssl("x509", "-in", path, "-noout", "-enddate").strip().split("=", 1)[1]


class CA:
    """A self-signed root that signs with `openssl ca` (its own index, serial and config)."""

    def __init__(self, pki, name):
        self.pki, self.name = pki, name
        slug = _slug(name)
        self.dir = pki.dir / f"ca-{slug}"
        self.dir.mkdir(parents=True)
        self.key = new_key(self.dir / "ca.key")
        self.cert = self.dir / "ca.crt"
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("%016X\n" % (secrets.randbits(62) | 1 << 62))
        (self.dir / "newcerts").mkdir()
        self.config = self.dir / "ca.cnf"
        self.config.write_text(textwrap.dedent(f"""\
            [ ca ]
            default_ca = this_ca
            [ this_ca ]
            dir = {self.dir}
            database = $dir/index.txt
            serial = $dir/serial
            new_certs_dir = $dir/newcerts
            certificate = $dir/ca.crt
            private_key = $dir/ca.key
            default_md = sha256
            default_days = 30
            policy = policy_any
            unique_subject = no
            copy_extensions = none
            [ policy_any ]
            commonName = supplied
            [ req ]
            distinguished_name = dn
            prompt = no
            [ dn ]
            CN = {name}
            [ v3_ca ]
            basicConstraints = critical, CA:true
            keyUsage = critical, keyCertSign, cRLSign
            subjectKeyIdentifier = hash
            """))
        openssl("req", "-new", "-x509", "-config", self.config, "-extensions", "v3_ca",
                "-key", self.key, "-out", self.cert, "-days", "30", "-subj", f"/CN={name}")
        self.serial = cert_serial(self.cert)

    def sign(self, name, sans, usage, expired=False, days=30):
        """A certificate CN=name with `sans` (["DNS:x", "IP:y", "URI:z"]) for `usage`
        ("serverAuth" or "clientAuth"), signed by this CA; `expired`: valid for a day two days
        ago. Returns Cert."""
        d = self.pki.dir / f"{_slug(name)}-{next(self.pki.counter)}"
        d.mkdir(parents=True)
        key = new_key(d / "tls.key")
        csr = d / "req.csr"
        openssl("req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={name}")
        ext = d / "ext.cnf"
        lines = ["[ leaf ]", "basicConstraints = critical, CA:false",
                 "keyUsage = critical, digitalSignature, keyEncipherment",
                 f"extendedKeyUsage = {usage}", "authorityKeyIdentifier = keyid"]
        if sans:
            lines.append("subjectAltName = " + ", ".join(sans))
        ext.write_text("\n".join(lines) + "\n")
        cert = d / "tls.crt"
        dates = (["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"] if expired
                 else ["-days", str(days)])
        openssl("ca", "-batch", "-config", self.config, "-notext", "-in", csr, "-out", cert,
                "-extfile", ext, "-extensions", "leaf", *dates)
        return Cert(name, cert, key, ca=self)


def _slug(name):
    return "".join(c if c.isalnum() else "-" for c in name.lower())


class PKI:
    """Everything under one folder."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.counter = itertools.count(1)

    def ca(self, name):
        return CA(self, name)

    def server(self, name, ca, dns=(), ips=(), expired=False, days=30):
        sans = [f"DNS:{n}" for n in dns] + [f"IP:{a}" for a in ips]
        return ca.sign(name, sans, "serverAuth", expired=expired, days=days)

    def client(self, name, ca, dns=(), uris=(), emails=()):
        sans = [f"DNS:{n}" for n in dns] + [f"URI:{u}" for u in uris] + \
               [f"email:{e}" for e in emails]
        return ca.sign(name, sans, "clientAuth")


def secret_dir(root, namespace, name, cert=None, key=None, ca=None, kube_layout=False):
    """A Secret mounted the way a pod sees it: root/namespace/name/{tls.crt,tls.key,ca.crt}.

    kube_layout: the kubelet's atomic-writer layout: the files live in a timestamped folder,
    `..data` is a symlink to it, and each key is a symlink `tls.crt -> ..data/tls.crt`; call
    swap_secret() to rotate it the way the kubelet does. Returns the Secret's folder."""
    d = Path(root) / namespace / name
    d.mkdir(parents=True, exist_ok=True)
    files = {"tls.crt": cert, "tls.key": key, "ca.crt": ca}
    files = {k: Path(v) for k, v in files.items() if v is not None}
    if not kube_layout:
        for k, v in files.items():
            (d / k).write_bytes(v.read_bytes())
        return d
    _kube_write(d, files)
    for k in files:
        (d / k).symlink_to(f"..data/{k}")
    return d


_kube_gen = itertools.count(1)


def _kube_write(d, files):
    ts = d / f"..2026_01_01_00_00_{next(_kube_gen):02d}.{secrets.randbelow(10**9)}"
    ts.mkdir()
    for k, v in files.items():
        (ts / k).write_bytes(Path(v).read_bytes())
    tmp = d / "..data_tmp"
    tmp.symlink_to(ts.name)
    old = (d / "..data").resolve() if (d / "..data").is_symlink() else None
    tmp.rename(d / "..data")  # atomic, as the kubelet does it
    return old


def swap_secret(secret, cert=None, key=None, ca=None):
    """Rotates a kube_layout Secret: new timestamped folder, `..data` swapped atomically, old
    folder removed (the key symlinks themselves never change)."""
    d = Path(secret)
    files = {"tls.crt": cert, "tls.key": key, "ca.crt": ca}
    files = {k: Path(v) for k, v in files.items() if v is not None}
    old = _kube_write(d, files)
    if old is not None and old.is_dir():
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
