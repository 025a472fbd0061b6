// The SMART App Launch protocol steps, with nothing hidden: every function returns what a
// page needs to show the step to the user.
import { CLIENT_ID } from "./config.js";

const STATE_PREFIX = "smart-state:";
const SESSION_KEY = "smart-session";

// base64url without padding (RFC 7636 appendix A).
export function base64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function randomString(nbytes) {
  const b = new Uint8Array(nbytes);
  crypto.getRandomValues(b); // available even outside secure contexts
  return base64url(b);
}

// sha256 uses WebCrypto, which browsers only expose in secure contexts (https or
// localhost). Presenters often open the sandbox by a LAN address over plain http, so a
// small pure-JS SHA-256 takes over there rather than breaking PKCE.
export async function sha256(text) {
  const data = new TextEncoder().encode(text);
  if (globalThis.crypto && crypto.subtle) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  }
  return sha256Fallback(data);
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function sha256Fallback(data) {
  const len = data.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[len] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(len / 0x20000000));
  view.setUint32(padded.length - 4, (len << 3) >>> 0);
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0;
      d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  h.forEach((x, i) => ov.setUint32(4 * i, x));
  return out;
}

// An Error carrying what the server answered, so pages can show the OAuth error or
// OperationOutcome rather than just a status code.
export class HTTPError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function readBody(resp) {
  const text = await resp.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// discover fetches {iss}/.well-known/smart-configuration.
export async function discover(iss) {
  const url = iss.replace(/\/+$/, "") + "/.well-known/smart-configuration";
  let resp;
  try {
    resp = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (e) {
    throw new Error(`Could not reach ${url}: ${e.message}`);
  }
  const body = await readBody(resp);
  if (!resp.ok) throw new HTTPError(`SMART discovery failed: HTTP ${resp.status} from ${url}`, resp.status, body);
  if (!body.authorization_endpoint || !body.token_endpoint) {
    throw new HTTPError(`${url} names no authorization_endpoint or token_endpoint`, resp.status, body);
  }
  return { url, config: body };
}

export function redirectURI() {
  return new URL("callback.html", location.href).href;
}

// authorize prepares PKCE and state, remembers them for the callback page (keyed by
// state, so two tabs launching at once do not collide), and returns the authorize URL.
export async function prepareAuthorize({ iss, scope, launch, discovery, launchType }) {
  const verifier = randomString(32); // 43 characters, the RFC 7636 minimum
  const challenge = base64url(await sha256(verifier));
  const state = randomString(16);
  const params = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectURI(),
    scope,
    state,
    aud: iss, // SMART requires the FHIR base the token is meant for
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  if (launch) params.set("launch", launch);
  const url = discovery.config.authorization_endpoint + "?" + params.toString();
  sessionStorage.setItem(
    STATE_PREFIX + state,
    JSON.stringify({
      iss,
      launchType,
      verifier,
      challenge,
      discoveryURL: discovery.url,
      authorizationEndpoint: discovery.config.authorization_endpoint,
      tokenEndpoint: discovery.config.token_endpoint,
      authorizeURL: url,
      redirectURI: redirectURI(),
      createdAt: Date.now(),
    }),
  );
  return url;
}

// takeState returns (and forgets: a state is single-use) what prepareAuthorize stored.
export function takeState(state) {
  if (!state) return null;
  const key = STATE_PREFIX + state;
  const raw = sessionStorage.getItem(key);
  sessionStorage.removeItem(key);
  return raw ? JSON.parse(raw) : null;
}

async function tokenRequest(endpoint, form) {
  const resp = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams(form),
  });
  const body = await readBody(resp);
  if (!resp.ok) {
    const what = body && body.error ? `${body.error}${body.error_description ? ": " + body.error_description : ""}` : `HTTP ${resp.status}`;
    throw new HTTPError(`Token request failed (${what})`, resp.status, body);
  }
  return body;
}

// exchangeCode is the public-client code exchange: no secret, the PKCE verifier proves
// this is the app that started the flow.
export function codeExchangeForm(saved, code) {
  return {
    grant_type: "authorization_code",
    code,
    redirect_uri: saved.redirectURI,
    client_id: CLIENT_ID,
    code_verifier: saved.verifier,
  };
}

export function exchangeCode(saved, code) {
  return tokenRequest(saved.tokenEndpoint, codeExchangeForm(saved, code));
}

export function refresh(session) {
  return tokenRequest(session.tokenEndpoint, {
    grant_type: "refresh_token",
    refresh_token: session.token.refresh_token,
    client_id: CLIENT_ID,
  });
}

// decodeJWT returns the header and payload of a JWT, or null for an opaque token. It
// does not verify the signature: the resource server does that; the app only reads.
export function decodeJWT(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const dec = (p) => {
      const b64 = p.replace(/-/g, "+").replace(/_/g, "/");
      const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    };
    return { header: dec(parts[0]), payload: dec(parts[1]) };
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function loadSession() {
  const raw = sessionStorage.getItem(SESSION_KEY);
  return raw ? JSON.parse(raw) : null;
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

// fhirGet reads from the FHIR API with the access token.
export async function fhirGet(iss, path, accessToken) {
  const url = iss.replace(/\/+$/, "") + "/" + path;
  const resp = await fetch(url, {
    headers: { Accept: "application/fhir+json", Authorization: "Bearer " + accessToken },
  });
  const body = await readBody(resp);
  if (!resp.ok) {
    let why = `HTTP ${resp.status}`;
    const issue = body && body.resourceType === "OperationOutcome" && body.issue && body.issue[0];
    if (issue) why += ": " + (issue.diagnostics || (issue.details && issue.details.text) || issue.code);
    throw new HTTPError(why, resp.status, body);
  }
  return { url, status: resp.status, body };
}
