// Standalone launch: the user starts the app, which discovers the server's endpoints and
// asks for a patient to be chosen at login (launch/patient).
import { STANDALONE_SCOPE } from "./config.js";
import { discover, prepareAuthorize } from "./smart.js";
import { $, el, kv, showError, setStatus, step, codeBlock } from "./ui.js";
import { showAuthorizeURL } from "./steps.js";

const params = new URLSearchParams(location.search);
$("iss").value = params.get("iss") || location.origin + "/fhir";
$("scope").value = params.get("scope") || STANDALONE_SCOPE;

$("launch-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("error").hidden = true;
  $("steps").replaceChildren();
  const iss = $("iss").value.trim().replace(/\/+$/, "");
  const scope = $("scope").value.trim().replace(/\s+/g, " ");
  if (!iss || !scope) {
    showError("Enter the FHIR base URL and at least one scope.");
    return;
  }
  $("launch").disabled = true;
  try {
    setStatus("Discovering the authorization server…");
    const discovery = await discover(iss);
    step(
      "1. SMART discovery",
      kv([
        ["GET", discovery.url],
        ["authorization_endpoint", discovery.config.authorization_endpoint],
        ["token_endpoint", discovery.config.token_endpoint],
        ["code_challenge_methods_supported", (discovery.config.code_challenge_methods_supported || []).join(", ")],
      ]),
      el("details", {}, el("summary", { text: "Full smart-configuration" }), codeBlock(discovery.config)),
    );
    const url = await prepareAuthorize({ iss, scope, discovery, launchType: "standalone" });
    showAuthorizeURL(url, "2. Authorization request");
    if ($("pause").checked) {
      setStatus("Ready: follow the link to log in.");
      step("3. Go to the authorization server", el("a", { href: url, class: "button primary", id: "continue" }, "Continue to log in"));
    } else {
      setStatus("Redirecting to the authorization server…");
      location.assign(url);
    }
  } catch (e) {
    setStatus("");
    showError(e.message, e.body);
  } finally {
    $("launch").disabled = false;
  }
});
