"""Client-side verification: Ed25519 (RFC 8032), RFC 9162 inclusion proofs,
signed checkpoints, and events from a real server, tampered with in every
way that must be caught."""

import base64
import copy
import hashlib

import pytest

import hashtrail
from hashtrail import verify as v


def test_ed25519_rfc8032_vector():
    pub = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065"
                        "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    assert v.ed25519_verify(pub, b"", sig)
    assert not v.ed25519_verify(pub, b"x", sig)
    bad = bytearray(sig)
    bad[10] ^= 1
    assert not v.ed25519_verify(pub, b"", bytes(bad))
    assert not v.ed25519_verify(pub, b"", sig[:32] + (2 ** 253).to_bytes(32, "little"))  # S >= L
    assert not v.ed25519_verify(pub[:31], b"", sig)


# RFC 6962 reference: the tree hash and the audit path, straight from the definitions.
def mth(leaves):
    if len(leaves) == 1:
        return v.leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m, leaves):
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def test_inclusion_proofs_against_the_definition():
    leaves = [b"leaf-%d" % i for i in range(1, 34)]
    for n in range(1, len(leaves) + 1):
        root = mth(leaves[:n])
        for m in range(n):
            p = path(m, leaves[:n])
            assert v.root_from_inclusion(m, n, v.leaf_hash(leaves[m]), p) == root
            if p:
                wrong = list(p)
                wrong[0] = bytes(32)
                assert v.root_from_inclusion(m, n, v.leaf_hash(leaves[m]), wrong) != root
                with pytest.raises(v.VerificationError):
                    v.root_from_inclusion(m, n, v.leaf_hash(leaves[m]), p + [bytes(32)])
    with pytest.raises(v.VerificationError):
        v.root_from_inclusion(5, 5, b"", [])


@pytest.fixture
def proved(server, tenant):
    url, key = server
    c = hashtrail.Client(url, key, tenant=tenant)
    with hashtrail.request_context(actor={"type": "user", "id": "42", "email": "ann@example.com"},
                                   ip="203.0.113.7"):
        ids = [c.record_sync({"action": "user.login", "metadata": {"n": i}}).id for i in range(5)]
    c.close()
    rd = hashtrail.Reader(url, key)
    lk = rd.log_key()
    return rd, lk, tenant, ids


def test_real_events_verify(proved):
    rd, lk, tenant, ids = proved
    for i in ids:
        ev = rd.verify_event(tenant, i, lk)
        assert ev["context"]["ip"] == "203.0.113.7"  # personal data shown, committed to outside the leaf
    cp = v.verify_checkpoint(rd.event(tenant, ids[0], proof=True, wait="5s")["checkpoint"], lk, tenant)
    assert cp.origin.endswith("/" + tenant) and cp.size >= 5


def test_tampering_is_caught(proved):
    rd, lk, tenant, ids = proved
    ev = rd.event(tenant, ids[2], proof=True, wait="5s")
    v.verify_event(ev, lk)

    def broken(change):
        e = copy.deepcopy(ev)
        change(e)
        with pytest.raises(v.VerificationError):
            v.verify_event(e, lk)

    broken(lambda e: e.update(action="user.logout"))                          # a field edited
    broken(lambda e: e["metadata"].update(n=99))
    broken(lambda e: e.update(seq=e["seq"] + 1))
    broken(lambda e: e.update(leaf_hash="00" * 32))
    broken(lambda e: e.update(leaf=base64.b64encode(base64.b64decode(e["leaf"]) + b" ").decode()))
    broken(lambda e: e["proof"]["hashes"].__setitem__(0, base64.b64encode(bytes(32)).decode()))
    broken(lambda e: e.update(checkpoint=e["checkpoint"].replace("\n%d\n" % e["proof"]["tree_size"],
                                                                 "\n%d\n" % (e["proof"]["tree_size"] + 1), 1)))
    broken(lambda e: e.update(tenant="someone-else"))                        # another tenant's origin
    broken(lambda e: e.pop("proof"))
    other_key = lk.split("+", 1)[0] + "+00000000+" + base64.b64encode(b"\x01" + bytes(range(32))).decode()
    with pytest.raises(v.VerificationError):
        v.verify_event(ev, other_key)                                       # signed by another key


def test_parse_log_key():
    raw = bytes([0xF8] * 32)  # base64 with '+' and '/' in it
    k = "audit.example.com+0a0b0c0d+" + base64.b64encode(b"\x01" + raw).decode()
    assert "+" in k.split("+", 2)[2]
    assert v.parse_log_key(k) == ("audit.example.com", raw)
    for bad in ["nokey", "a+b", "a+b+" + base64.b64encode(b"\x02" + raw).decode()]:
        with pytest.raises(v.VerificationError):
            v.parse_log_key(bad)
