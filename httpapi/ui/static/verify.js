// verify.js: checks a Hashtrail event's inclusion proof and its checkpoint's
// signature in the browser, with no dependencies (ES module).
//
// What it checks (docs/integrity.md):
//   1. the leaf hash: SHA-256(0x00 || leaf) (RFC 6962), equal to the event's
//      leaf_hash; when the server withheld the leaf (a viewer token hides a
//      field the leaf holds), the event's leaf_hash is proved instead, which
//      shows the event is in the log but not what its hidden fields held;
//   2. the root the RFC 9162 inclusion path leads to from that leaf hash,
//      equal to the checkpoint's root hash, for the checkpoint's tree size;
//   3. the checkpoint (C2SP tlog-checkpoint) is of the expected log (its
//      origin) and carries a valid Ed25519 signature (C2SP signed note) by
//      one of the pinned verifier keys, derived under the origin, the way
//      the server signs each tenant's log.
//
// The outcome is {state: "verified" | "failed" | "unavailable", reason, ...}.
// "unavailable" is never a pass: it says the browser could not check (no
// WebCrypto outside a secure context, no Ed25519, the proof not loaded).
//
// Elements with data-hashtrail-verify and data-proof-url are checked when
// the module loads: the URL answers the API's ?proof=true JSON plus
// "log_keys" (note verifier keys) and "origin" (the log's origin). The
// outcome goes into the element's [data-hashtrail-verify-status] (or
// [data-verify-status]) child, else the element itself, as text, and into
// its data-state attribute.

const enc = new TextEncoder();

/** Outcome states. */
export const VERIFIED = "verified";
export const FAILED = "failed";
export const UNAVAILABLE = "unavailable";

class Failure extends Error {}

function fail(reason) {
  throw new Failure(reason);
}

/** Returns whether this page can verify: WebCrypto needs a secure context. */
export function cryptoAvailable() {
  return typeof globalThis.crypto !== "undefined" && typeof globalThis.crypto.subtle !== "undefined" &&
    globalThis.crypto.subtle !== null;
}

/** Decodes standard base64 (padded) into bytes; null when malformed. */
export function fromBase64(s) {
  if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  try {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Decodes lowercase or uppercase hex into bytes; null when malformed. */
export function fromHex(s) {
  if (typeof s !== "string" || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

/** Encodes bytes as lowercase hex. */
export function toHex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

async function sha256(data) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/** RFC 6962 leaf hash: SHA-256(0x00 || leaf). */
export async function leafHash(leaf) {
  return sha256(concat(Uint8Array.of(0), leaf));
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
export async function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/**
 * Computes the root an RFC 9162 §2.1.3.2 inclusion path leads to from the
 * leaf hash at index in a tree of size (numbers, BigInts or decimal
 * strings: 64-bit values exceed JavaScript's safe integers); throws when the
 * path cannot belong to such a tree (index out of range, too many or too
 * few hashes).
 */
export async function rootFromInclusion(index, size, hash, path) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (BigInt(index) < 0n || BigInt(index) >= BigInt(size)) fail(`leaf index ${index} is not below the tree size ${size}`);
  if (!(hash instanceof Uint8Array) || hash.length !== 32) fail("the leaf hash is not 32 bytes");
  let r = hash;
  for (const p of path) {
    if (p.length !== 32) fail("a proof hash is not 32 bytes");
    if (sn === 0n) fail("the inclusion proof has more hashes than the tree has levels");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail("the inclusion proof has fewer hashes than the tree has levels");
  return r;
}

/**
 * Checks an inclusion proof: resolves to true when the path leads from
 * hash at index to root in a tree of size, false otherwise.
 */
export async function verifyInclusion(index, size, hash, path, root) {
  if (!(root instanceof Uint8Array) || root.length !== 32) return false;
  try {
    return equal(await rootFromInclusion(index, size, hash, path), root);
  } catch (e) {
    if (e instanceof Failure) return false;
    throw e;
  }
}

/**
 * Splits a C2SP signed note into its text (ending in a newline) and its
 * signatures [{name, keyHash (4 bytes), sig}].
 */
export function parseNote(note) {
  if (typeof note !== "string") fail("the checkpoint is missing");
  const i = note.indexOf("\n\n");
  if (i < 0) fail("the checkpoint is not a signed note (no blank line before its signatures)");
  const text = note.slice(0, i + 1);
  const rest = note.slice(i + 2);
  if (!rest.endsWith("\n")) fail("the checkpoint's signature lines do not end in a newline");
  const sigs = [];
  for (const line of rest.slice(0, -1).split("\n")) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) fail("the checkpoint has a malformed signature line");
    const b = fromBase64(m[2]);
    if (!b || b.length < 5) fail("the checkpoint has a malformed signature");
    sigs.push({ name: m[1], keyHash: b.slice(0, 4), sig: b.slice(4) });
  }
  return { text, sigs };
}

/** Parses a C2SP checkpoint text: {origin, size (BigInt), root (bytes)}. */
export function parseCheckpoint(text) {
  const lines = text.split("\n");
  if (lines.length < 4 || lines[lines.length - 1] !== "") fail("the checkpoint text is malformed");
  const [origin, size, root] = lines;
  if (!origin) fail("the checkpoint has no origin");
  if (!/^(0|[1-9][0-9]*)$/.test(size)) fail("the checkpoint's tree size is malformed");
  const r = fromBase64(root);
  if (!r || r.length !== 32) fail("the checkpoint's root hash is malformed");
  return { origin, size: BigInt(size), root: r };
}

/**
 * Parses a note verifier key "<name>+<hash hex>+<base64(0x01 || key)>" of
 * an Ed25519 key, checking its key hash: {name, publicKey (32 bytes)}.
 */
export async function parseVerifierKey(vkey) {
  // "+" cannot be in the name but can be in the base64 of the key.
  const s = typeof vkey === "string" ? vkey.trim() : "";
  const i = s.indexOf("+");
  const j = i < 0 ? -1 : s.indexOf("+", i + 1);
  if (i <= 0 || j < 0) fail("a pinned verifier key is malformed");
  const name = s.slice(0, i);
  const hashHex = s.slice(i + 1, j);
  const b64 = s.slice(j + 1);
  const raw = fromBase64(b64);
  const h = fromHex(hashHex);
  if (!raw || raw.length !== 33 || raw[0] !== 1 || !h || h.length !== 4) fail("a pinned verifier key is not an Ed25519 note key");
  const want = await keyHash(name, raw.slice(1));
  if (!equal(want, h)) fail(`the pinned verifier key of ${name} has a wrong key hash`);
  return { name, publicKey: raw.slice(1) };
}

/** The C2SP signed-note key hash: SHA-256(name || "\n" || 0x01 || key)[:4]. */
export async function keyHash(name, publicKey) {
  return (await sha256(concat(enc.encode(name + "\n"), Uint8Array.of(1), publicKey))).slice(0, 4);
}

async function ed25519Verify(publicKey, sig, data) {
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    const err = new Error("this browser's WebCrypto does not support Ed25519");
    err.unavailable = true;
    throw err;
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, sig, data);
}

/**
 * Checks a checkpoint note against pinned verifier keys and the expected
 * origin; returns the parsed checkpoint and the key hash that signed it.
 */
export async function verifyCheckpoint(note, keys, origin) {
  const { text, sigs } = parseNote(note);
  const cp = parseCheckpoint(text);
  if (!origin) fail("no expected log origin was given");
  if (cp.origin !== origin) fail(`the checkpoint is of log ${cp.origin}, not ${origin}`);
  if (!Array.isArray(keys) || keys.length === 0) fail("no verifier key is pinned");
  const data = enc.encode(text);
  let malformed = null;
  for (const vkey of keys) {
    let publicKey;
    try {
      ({ publicKey } = await parseVerifierKey(vkey));
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      malformed = e; // another pinned key may still verify
      continue;
    }
    // The server signs each tenant's log under its origin with the
    // installation key: the verifier is that key named by the origin.
    const kh = await keyHash(origin, publicKey);
    for (const s of sigs) {
      if (s.name !== origin || !equal(s.keyHash, kh)) continue;
      if (await ed25519Verify(publicKey, s.sig, data)) return { ...cp, keyHash: toHex(kh) };
    }
  }
  fail(malformed && keys.length === 1 ? malformed.message : "the checkpoint carries no valid signature by a pinned key");
}

/**
 * Verifies an event's proof answer (the API's ?proof=true JSON: the event's
 * members, leaf, proof and checkpoint) against pinned note verifier keys
 * and the log's origin. Resolves to {state, reason, size, origin, leafOnly}.
 */
export async function verifyEventProof(answer, { keys, origin } = {}) {
  if (!cryptoAvailable()) {
    return {
      state: UNAVAILABLE,
      reason: "this page is not a secure context (HTTPS or localhost), so the browser offers no WebCrypto to check the proof",
    };
  }
  try {
    if (!answer || typeof answer !== "object" || !answer.proof) fail("the answer carries no proof");
    const cp = await verifyCheckpoint(answer.checkpoint, keys, origin);
    const p = answer.proof;
    if (!Number.isSafeInteger(p.leaf_index) || !Number.isSafeInteger(p.tree_size)) fail("the proof's index or size is malformed");
    if (BigInt(p.tree_size) !== cp.size) fail(`the proof is for tree size ${p.tree_size}, the checkpoint is of size ${cp.size}`);
    if (answer.seq !== undefined && answer.seq !== p.leaf_index) fail(`the proof is for leaf ${p.leaf_index}, the event is seq ${answer.seq}`);
    let h;
    let leafOnly = false;
    if (answer.leaf !== undefined && answer.leaf !== null) {
      const leaf = fromBase64(answer.leaf);
      if (!leaf) fail("the leaf is not base64");
      h = await leafHash(leaf);
      if (answer.leaf_hash !== undefined && toHex(h) !== String(answer.leaf_hash).toLowerCase()) {
        fail("the leaf does not hash to the event's leaf_hash");
      }
      checkLeafIsEvent(leaf, answer);
    } else {
      h = fromHex(answer.leaf_hash);
      if (!h || h.length !== 32) fail("the answer has neither a leaf nor a leaf_hash");
      leafOnly = true;
    }
    const path = (p.hashes || []).map((x) => fromBase64(x) || fail("a proof hash is not base64"));
    const root = await rootFromInclusion(p.leaf_index, p.tree_size, h, path);
    if (!equal(root, cp.root)) fail("the inclusion proof does not lead to the checkpoint's root hash");
    return {
      state: VERIFIED,
      reason: "",
      size: Number(cp.size),
      index: p.leaf_index,
      origin: cp.origin,
      keyHash: cp.keyHash,
      leafHash: toHex(h),
      leafOnly,
    };
  } catch (e) {
    if (e instanceof Failure) return { state: FAILED, reason: e.message };
    if (e && e.unavailable) return { state: UNAVAILABLE, reason: e.message };
    return { state: FAILED, reason: "the proof could not be checked: " + (e && e.message ? e.message : String(e)) };
  }
}

// checkLeafIsEvent checks that the leaf (JCS JSON) is of the event shown:
// the same id, seq and action, so a valid proof of another event fails.
function checkLeafIsEvent(leaf, answer) {
  let l;
  try {
    l = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(leaf));
  } catch {
    fail("the leaf is not JSON");
  }
  for (const f of ["id", "seq", "action", "tenant"]) {
    if (answer[f] !== undefined && l[f] !== answer[f]) fail(`the leaf's ${f} is not the event's`);
  }
}

/** Returns the sentence an outcome is shown as. */
export function describe(outcome) {
  switch (outcome.state) {
    case VERIFIED: {
      let s = `Verified in your browser: included at position ${outcome.index} of checkpoint ${outcome.size} of ${outcome.origin}, signed by key ${outcome.keyHash}.`;
      if (outcome.leafOnly) s += " Some fields are hidden from you: this proves the event's leaf hash, not the hidden values.";
      return s;
    }
    case UNAVAILABLE:
      return `Verification unavailable: ${outcome.reason}.`;
    default:
      return `Verification failed: ${outcome.reason}.`;
  }
}

/** Writes an outcome into an element (text and data-state). */
export function show(el, outcome) {
  el.setAttribute("data-state", outcome.state);
  const target = el.querySelector("[data-hashtrail-verify-status], [data-verify-status]") || el;
  target.textContent = describe(outcome);
  if (outcome.state === VERIFIED) el.setAttribute("data-leaf-hash", outcome.leafHash);
}

/**
 * Fetches a proof URL (the API's ?proof=true answer plus log_keys and
 * origin) and verifies it; a 503 (no checkpoint covers the event yet) is
 * retried a few times. fetchInit is passed to fetch.
 */
export async function verifyURL(url, fetchInit = {}) {
  if (!cryptoAvailable()) return verifyEventProof(null);
  let res;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      res = await fetch(url, { credentials: "same-origin", ...fetchInit, headers: { Accept: "application/json", ...(fetchInit.headers || {}) } });
    } catch (e) {
      return { state: UNAVAILABLE, reason: "the proof could not be loaded" };
    }
    if (res.status !== 503) break;
    const wait = Math.min(Number(res.headers.get("Retry-After")) || 1, 3);
    await new Promise((r) => setTimeout(r, wait * 1000));
  }
  if (!res.ok) return { state: UNAVAILABLE, reason: `the proof could not be loaded (HTTP ${res.status})` };
  let body;
  try {
    body = await res.json();
  } catch {
    return { state: FAILED, reason: "the proof answer is not JSON" };
  }
  return verifyEventProof(body, { keys: body.log_keys, origin: body.origin });
}

/** Verifies every [data-hashtrail-verify][data-proof-url] element under root. */
export async function verifyAll(root = document) {
  const els = Array.from(root.querySelectorAll("[data-hashtrail-verify][data-proof-url]"));
  await Promise.all(els.map(async (el) => {
    el.setAttribute("data-state", "checking");
    el.setAttribute("aria-live", "polite");
    show(el, await verifyURL(el.getAttribute("data-proof-url")));
  }));
}

// Imported as verify.js?embed (by embed.js) it only exports its functions.
const autoRun = typeof document !== "undefined" && !globalThis.__hashtrailNoAutoVerify &&
  !new URL(import.meta.url).searchParams.has("embed");
if (autoRun) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => verifyAll());
  } else {
    verifyAll();
  }
}
