// Protocol steps shared by the launch pages and the callback page.
import { el, kv, step } from "./ui.js";

// showAuthorizeURL shows the authorize URL and its parameters one per row, which is how
// they are best read and compared with the spec.
export function showAuthorizeURL(url, title) {
  const u = new URL(url);
  const rows = [...u.searchParams.entries()];
  step(
    title,
    el("p", {}, "The browser is sent to the authorization endpoint with these parameters:"),
    el("pre", { class: "code url", id: "authorize-url", tabindex: "0" }, url),
    kv(rows),
  );
}
