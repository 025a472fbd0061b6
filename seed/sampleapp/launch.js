// EHR launch: the EHR passes iss and launch; the app asks for the `launch` scope so the
// authorization server binds the token to the EHR's context.
import { EHR_SCOPE } from "./config.js";
import { discover, prepareAuthorize } from "./smart.js";
import { el, kv, showError, setStatus, step, codeBlock } from "./ui.js";
import { showAuthorizeURL } from "./steps.js";

async function main() {
  const params = new URLSearchParams(location.search);
  const iss = (params.get("iss") || "").replace(/\/+$/, "");
  const launch = params.get("launch") || "";
  if (!iss || !launch) {
    showError(
      "This page must be opened by an EHR with ?iss=<FHIR base URL>&launch=<launch id>. " +
        "To start the app yourself, use the standalone launch.",
    );
    return;
  }
  step("1. Launch request from the EHR", kv([["iss", iss], ["launch", launch]]));
  setStatus("Discovering the authorization server…");
  const discovery = await discover(iss);
  step(
    "2. SMART discovery",
    kv([
      ["GET", discovery.url],
      ["authorization_endpoint", discovery.config.authorization_endpoint],
      ["token_endpoint", discovery.config.token_endpoint],
    ]),
    el("details", {}, el("summary", { text: "Full smart-configuration" }), codeBlock(discovery.config)),
  );
  const scope = params.get("scope") || EHR_SCOPE;
  const url = await prepareAuthorize({ iss, scope, launch, discovery, launchType: "ehr" });
  showAuthorizeURL(url, "3. Authorization request");
  if (params.has("pause")) {
    setStatus("Ready: follow the link to continue.");
    step("4. Go to the authorization server", el("a", { href: url, class: "button primary", id: "continue" }, "Continue"));
    return;
  }
  setStatus("Redirecting to the authorization server…");
  location.assign(url);
}

main().catch((e) => {
  setStatus("");
  showError(e.message, e.body);
});
