// The redirect target: checks state, exchanges the code (PKCE, no secret), shows the
// tokens, then reads the patient's record through the FHIR API with the access token.
import { VITALS_COUNT } from "./config.js";
import {
  takeState, exchangeCode, codeExchangeForm, refresh, decodeJWT,
  saveSession, loadSession, clearSession, fhirGet,
} from "./smart.js";
import { $, el, kv, step, showError, setStatus, reveal, codeBlock } from "./ui.js";
import { showAuthorizeURL } from "./steps.js";
import { renderBanner, renderConditions, renderMedications, renderAllergies, renderVitals } from "./render.js";

$("start-over").addEventListener("click", () => clearSession());

function showEarlySteps(s) {
  step("1. SMART discovery", kv([["GET", s.discoveryURL], ["token_endpoint", s.tokenEndpoint]]));
  showAuthorizeURL(s.authorizeURL, "2. Authorization request");
}

function showAuthorizationResponse(code, state) {
  step(
    "3. Authorization response",
    el("p", {}, "The authorization server redirected back to ", el("code", { text: location.origin + location.pathname }), " with:"),
    kv([["code", code], ["state", state]]),
    el("p", { class: "ok" }, "✓ state matches the value this browser sent, so the response answers our own request."),
  );
}

function time(sec) {
  return typeof sec === "number" ? `${sec} (${new Date(sec * 1000).toLocaleString()})` : undefined;
}

function showToken(title, token) {
  const jwt = decodeJWT(token);
  if (!jwt) {
    return step(title, el("p", {}, "An opaque token: only the server (or its introspection endpoint) knows what it means."));
  }
  const p = jwt.payload;
  return step(
    title,
    kv([["alg", jwt.header.alg], ["typ", jwt.header.typ], ["kid", jwt.header.kid], ["iss", p.iss], ["sub", p.sub], ["aud", Array.isArray(p.aud) ? p.aud.join(", ") : p.aud],
      ["scope", p.scope], ["patient", p.patient], ["fhirUser", p.fhirUser], ["iat", time(p.iat)], ["exp", time(p.exp)]]),
    el("details", {}, el("summary", { text: "Header and payload" }), codeBlock({ header: jwt.header, payload: p })),
    el("p", { class: "help", text: "Decoded in the browser without checking the signature: verifying is the resource server's job (with the JWKS)." }),
  );
}

function showTokens(session) {
  const { token } = session;
  const requested = new URL(session.authorizeURL).searchParams.get("scope").split(" ");
  const granted = (token.scope || "").split(" ").filter(Boolean);
  const refused = requested.filter((s) => !granted.includes(s));
  const body = step(
    "5. Token response",
    codeBlock(token, "token-response"),
    kv([["granted scopes", granted.join(" ")], ["requested but not granted", refused.join(" ")],
      ["expires_in", token.expires_in !== undefined ? `${token.expires_in} s` : undefined]]),
  );
  if (token.refresh_token) {
    const btn = el("button", { type: "button", class: "button", id: "refresh" }, "Use the refresh token");
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      try {
        const t = await refresh(session);
        // A server may rotate the refresh token or keep the old one valid.
        saveSession({ ...session, token: { ...t, refresh_token: t.refresh_token || token.refresh_token, id_token: t.id_token || token.id_token }, refreshedAt: Date.now() });
        location.reload();
      } catch (e) {
        showError(e.message, e.body);
        btn.disabled = false;
      }
    });
    body.append(btn);
  }
  reveal("token-response");
  showToken("6. Access token, decoded", token.access_token);
  if (token.id_token) showToken("7. OpenID Connect id_token, decoded", token.id_token);
}

// patientID comes from the token's launch context, or from fhirUser for a portal user
// who launched without launch/patient.
function patientID(token) {
  if (token.patient) return token.patient;
  const jwt = decodeJWT(token.id_token);
  const fu = jwt && jwt.payload.fhirUser;
  const m = typeof fu === "string" && fu.match(/(?:^|\/)Patient\/([^/]+)$/);
  return m ? m[1] : "";
}

async function loadData(session) {
  const { iss, token } = session;
  const id = patientID(token);
  if (!id) {
    showError("The token carries no patient context. Launch with the launch/patient scope (standalone) or from the EHR.");
    return;
  }
  const log = el("ul", { class: "requests" });
  step("8. FHIR API requests (Authorization: Bearer <access token>)", log);
  const get = async (path) => {
    const item = el("li", {}, el("code", { text: "GET " + iss + "/" + path }));
    log.append(item);
    try {
      const r = await fhirGet(iss, path, token.access_token);
      item.append(" ", el("span", { class: "badge badge-ok", text: String(r.status) }));
      return r.body;
    } catch (e) {
      item.append(" ", el("span", { class: "badge badge-danger", text: e.status ? String(e.status) : "failed" }));
      throw e;
    }
  };
  setStatus("Reading the patient's record…");
  const pid = encodeURIComponent(id);
  try {
    renderBanner(reveal("patient-banner"), await get(`Patient/${pid}`));
  } catch (e) {
    showError(`Could not read Patient/${id}: ${e.message}`, e.body);
    return;
  }
  const sections = [
    ["conditions", `Condition?patient=${pid}&_count=100`, renderConditions],
    ["medications", `MedicationRequest?patient=${pid}&_count=100`, renderMedications],
    ["allergies", `AllergyIntolerance?patient=${pid}&_count=100`, renderAllergies],
    ["vitals", `Observation?patient=${pid}&category=vital-signs&_sort=-date&_count=${VITALS_COUNT}`, renderVitals],
  ];
  // A section the token may not read shows the server's reason instead of its data.
  await Promise.all(
    sections.map(async ([sid, path, render]) => {
      const body = $(sid).querySelector(".card-body");
      try {
        render(body, await get(path));
      } catch (e) {
        body.replaceChildren(el("p", { class: "denied", text: e.message }));
      }
      reveal(sid);
    }),
  );
  setStatus(`Showing Patient/${id} from ${iss}`);
}

async function main() {
  const params = new URLSearchParams(location.search);
  const state = params.get("state");

  if (params.has("error") || params.has("code")) {
    const saved = takeState(state);
    // Drop code and state from the address bar: a reload must not replay a used code.
    history.replaceState(null, "", location.pathname);
    if (!saved) {
      showError("This response's state is unknown to this browser (already used, or the launch started elsewhere). Start the launch again.");
      return;
    }
    showEarlySteps(saved);
    if (params.has("error")) {
      step("3. Authorization response", kv([["error", params.get("error")], ["error_description", params.get("error_description")], ["state", state]]));
      showError(`The authorization server answered ${params.get("error")}${params.get("error_description") ? ": " + params.get("error_description") : ""}.`);
      return;
    }
    const code = params.get("code");
    showAuthorizationResponse(code, state);
    const form = codeExchangeForm(saved, code);
    step("4. Token request", kv([["POST", saved.tokenEndpoint]]), codeBlock(new URLSearchParams(form).toString().replace(/&/g, "\n")));
    setStatus("Exchanging the code for tokens…");
    const token = await exchangeCode(saved, code);
    const session = { ...saved, code, state, token, obtainedAt: Date.now() };
    delete session.verifier; // used once; nothing needs it now
    saveSession(session);
    showTokens(session);
    await loadData(session);
    return;
  }

  // A reload (or a return to the page) shows the current session again.
  const session = loadSession();
  if (!session) {
    setStatus("");
    showError("No launch in progress. Start from the standalone launch page or from the EHR.");
    return;
  }
  showEarlySteps(session);
  showAuthorizationResponse(session.code, session.state);
  step("4. Token request", kv([["POST", session.tokenEndpoint]]));
  showTokens(session);
  await loadData(session);
}

main().catch((e) => {
  setStatus("");
  showError(e.message, e.body);
});
