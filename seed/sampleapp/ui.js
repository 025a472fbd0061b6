// DOM helpers. Everything from the network is inserted with textContent, never as HTML.

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function $(id) {
  return document.getElementById(id);
}

export function pretty(v) {
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

// showError fills #error (a role="alert" region) and reveals it.
export function showError(message, detail) {
  const box = $("error");
  box.replaceChildren(el("strong", { text: "Something went wrong. " }), message);
  if (detail !== undefined && detail !== "") {
    box.append(el("pre", { class: "code" }, pretty(detail)));
  }
  box.hidden = false;
  box.focus();
}

export function setStatus(text) {
  const s = $("status");
  if (s) s.textContent = text;
}

// reveal shows an element that starts hidden and marks it ready: browser tests wait for
// the element ids to become visible.
export function reveal(id) {
  const e = $(id);
  e.hidden = false;
  e.dataset.ready = "true";
  return e;
}

// step appends a numbered protocol step to #steps and returns its body element.
export function step(title, ...content) {
  const body = el("div", { class: "step-body" }, ...content);
  const li = el("li", { class: "step" }, el("h3", { text: title }), body);
  $("steps").append(li);
  $("steps-section").hidden = false;
  return body;
}

// kv renders a definition list of label/value pairs; values may be nodes.
export function kv(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(el("dt", { text: k }), el("dd", {}, v instanceof Node ? v : el("code", { text: String(v) })));
  }
  return dl;
}

export function codeBlock(v, id) {
  return el("pre", { class: "code", id, tabindex: "0" }, pretty(v));
}
