// Renders the FHIR resources the app reads into the patient banner and summary cards.
import { el } from "./ui.js";

function concept(cc) {
  if (!cc) return "";
  if (cc.text) return cc.text;
  const c = (cc.coding || []).find((c) => c.display) || (cc.coding || [])[0];
  return c ? c.display || `${c.system || ""}|${c.code || ""}` : "";
}

function codeOf(cc) {
  return ((cc && cc.coding) || []).map((c) => c.code).filter(Boolean);
}

function date(s) {
  if (!s) return "";
  const d = new Date(s);
  if (isNaN(d)) return s;
  return s.length <= 10 ? s : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

function entries(bundle) {
  return ((bundle && bundle.entry) || [])
    .map((e) => e.resource)
    .filter((r) => r && r.resourceType !== "OperationOutcome");
}

function humanName(p) {
  const names = p.name || [];
  const n = names.find((n) => n.use === "official") || names[0];
  if (!n) return "(no name)";
  if (n.text) return n.text;
  return [...(n.prefix || []), ...(n.given || []), n.family, ...(n.suffix || [])].filter(Boolean).join(" ");
}

function mrn(p) {
  const ids = p.identifier || [];
  const byType = ids.find((i) => ((i.type && i.type.coding) || []).some((c) => c.code === "MR"));
  const bySystem = ids.find((i) => /mrn/i.test(i.system || ""));
  const id = byType || bySystem || ids[0];
  return id ? id.value : "";
}

function age(birthDate) {
  if (!birthDate) return "";
  const b = new Date(birthDate);
  if (isNaN(b)) return "";
  const now = new Date();
  let y = now.getFullYear() - b.getFullYear();
  if (now.getMonth() < b.getMonth() || (now.getMonth() === b.getMonth() && now.getDate() < b.getDate())) y--;
  return `${y} y`;
}

function initials(name) {
  const w = name.split(/\s+/).filter(Boolean);
  return w.length ? (w[0][0] + (w.length > 1 ? w[w.length - 1][0] : "")).toUpperCase() : "?";
}

export function renderBanner(container, patient) {
  const field = (label, value) =>
    el("div", { class: "banner-field" }, el("span", { class: "label", text: label }), el("span", { class: "value", text: value || "—" }));
  container.replaceChildren(
    el("div", { class: "avatar", "aria-hidden": "true", text: initials(humanName(patient)) }),
    el(
      "div",
      { class: "banner-main" },
      el("h2", { class: "patient-name", text: humanName(patient) }),
      el(
        "div",
        { class: "banner-fields" },
        field("Gender", patient.gender),
        field("Born", patient.birthDate ? `${patient.birthDate} (${age(patient.birthDate)})` : ""),
        field("MRN", mrn(patient)),
        field("FHIR id", `Patient/${patient.id}`),
      ),
    ),
  );
}

function table(caption, headers, rows, empty) {
  if (rows.length === 0) return el("p", { class: "empty", text: empty });
  return el(
    "table",
    {},
    el("caption", { class: "visually-hidden", text: caption }),
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c instanceof Node ? c : String(c ?? "")))))),
  );
}

function badge(text, kind) {
  return text ? el("span", { class: `badge badge-${kind || "neutral"}`, text }) : "";
}

export function renderConditions(container, bundle) {
  const rank = (c) => (codeOf(c.clinicalStatus).includes("active") ? 0 : 1);
  const onset = (c) => c.onsetDateTime || (c.onsetPeriod && c.onsetPeriod.start) || c.recordedDate || "";
  const rows = entries(bundle)
    .sort((a, b) => rank(a) - rank(b) || onset(b).localeCompare(onset(a)))
    .map((c) => {
      const status = codeOf(c.clinicalStatus)[0] || "";
      return [concept(c.code), badge(status, status === "active" ? "warn" : "neutral"), date(onset(c))];
    });
  container.replaceChildren(table("Conditions", ["Condition", "Status", "Onset"], rows, "No conditions recorded."));
}

export function renderMedications(container, bundle) {
  const rows = entries(bundle)
    .sort((a, b) => (b.authoredOn || "").localeCompare(a.authoredOn || ""))
    .map((m) => {
      const name = m.medicationCodeableConcept
        ? concept(m.medicationCodeableConcept)
        : (m.medicationReference && (m.medicationReference.display || m.medicationReference.reference)) || "";
      const dose = ((m.dosageInstruction || [])[0] || {}).text || "";
      return [name, dose, badge(m.status, m.status === "active" ? "ok" : "neutral"), date(m.authoredOn)];
    });
  container.replaceChildren(table("Medications", ["Medication", "Instructions", "Status", "Prescribed"], rows, "No medications recorded."));
}

export function renderAllergies(container, bundle) {
  const rows = entries(bundle).map((a) => {
    const reactions = (a.reaction || []).flatMap((r) => (r.manifestation || []).map(concept)).join(", ");
    return [concept(a.code), reactions, badge(a.criticality, a.criticality === "high" ? "danger" : "neutral"), codeOf(a.clinicalStatus)[0] || ""];
  });
  container.replaceChildren(table("Allergies", ["Substance", "Reaction", "Criticality", "Status"], rows, "No known allergies recorded."));
}

function quantity(q) {
  if (!q || q.value === undefined) return "";
  return `${q.value} ${q.unit || q.code || ""}`.trim();
}

// Display order of the usual vital signs (LOINC); others follow.
const VITAL_ORDER = ["85354-9", "8867-4", "9279-1", "8310-5", "59408-5", "29463-7", "8302-2", "39156-5"];

export function renderVitals(container, bundle) {
  // The search is sorted newest first, so the first Observation of each code is the latest.
  const latest = new Map();
  for (const o of entries(bundle)) {
    const code = codeOf(o.code)[0];
    if (code && !latest.has(code)) latest.set(code, o);
  }
  const order = (code) => (VITAL_ORDER.indexOf(code) + 1 || 99);
  const rows = [...latest.entries()]
    .sort(([a], [b]) => order(a) - order(b))
    .map(([, o]) => {
      let value = quantity(o.valueQuantity);
      if (!value && o.component) {
        const comp = (loinc) => o.component.find((c) => codeOf(c.code).includes(loinc));
        const sys = comp("8480-6"), dia = comp("8462-4");
        if (sys && dia && sys.valueQuantity && dia.valueQuantity) {
          value = `${sys.valueQuantity.value}/${dia.valueQuantity.value} ${dia.valueQuantity.unit || "mmHg"}`;
        } else {
          value = o.component.map((c) => `${concept(c.code)}: ${quantity(c.valueQuantity)}`).join("; ");
        }
      }
      return [concept(o.code), el("strong", { text: value }), date(o.effectiveDateTime || (o.effectivePeriod && o.effectivePeriod.start))];
    });
  container.replaceChildren(table("Recent vital signs", ["Vital sign", "Latest value", "Measured"], rows, "No vital signs recorded."));
}
