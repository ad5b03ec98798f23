// Weight tuning (ops): bounded inputs per weight, a before/after preview for chosen crowds and hour, the estimated
// claim-rate change of the edit (off-policy, on logged slates), save, history, rollback.

import { api } from "./api.js";
import { barOption, draw } from "./charts.js";
import { debounce, errorBox, h, select, table, toast } from "./dom.js";

export const id = "weights";
export const title = "Ranking weights";
export const roles = ["ops"];

const face = (gender, age) => ({ gender, age });
export const CROWDS = {
  "two-women-25-34": ["Two women 25–34", { faces: [face("female", 28), face("female", 31)], group: "pair" }],
  "family-kids": ["Family with kids", { faces: [face("female", 38), face("male", 41), face("female", 8), face("male", 11)], group: "family" }],
  "young-man": ["Young man 18–24", { faces: [face("male", 21)], group: "solo" }],
  "teen-friends": ["Teen friends", { faces: [face("female", 15), face("female", 16), face("male", 16)] }],
  "senior-couple": ["Senior couple 65+", { faces: [face("female", 68), face("male", 70)], group: "pair" }],
};

const fmt = (x) => Number(x).toFixed(3);

function breakdownChart(el, coupons) {
  const components = [...new Set(coupons.flatMap((c) => Object.keys(c.explain)))];
  draw(el, barOption(coupons.map((c) => c.title), components.map((name) => ({
    name, data: coupons.map((c) => c.explain[name] ?? 0) })), { horizontal: true, stack: true }));
}

function ranking(label, result, other, testId) {
  const before = new Map((other?.coupons || []).map((c, i) => [c.coupon_id, i]));
  const rows = result.coupons.map((c, i) => {
    const was = before.get(c.coupon_id);
    const move = other ? (was === undefined ? "new" : was === i ? "=" : was > i ? `↑${was - i}` : `↓${i - was}`) : "";
    return [String(i + 1), `${c.title} (${c.store_id})${c.explored ? " · explored" : ""}`, fmt(c.score), move,
      Object.entries(c.explain).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")];
  });
  const chart = h("div", { class: "chart short", role: "img", "aria-label": `${label}: score breakdown per coupon` });
  const box = h("div", { class: "card", id: testId }, h("h3", {}, label),
    table(`${label}: top coupons`, ["#", "Coupon", "Score", "Move", "Breakdown"], rows), chart);
  return { box, draw: () => result.coupons.length && breakdownChart(chart, result.coupons) };
}

export async function mount(root) {
  const [specs, screens] = await Promise.all([api("/v1/ranking/weights/specs"), api("/v1/screens", { query: { kind: "lead_in" } })]);
  let current = await api("/v1/ranking/weights");
  const values = { ...current.weights };
  const inputs = {};

  const rows = Object.entries(specs).map(([name, spec]) => {
    const step = (spec.max - spec.min) / 100;
    const range = h("input", { type: "range", id: `w-${name}`, min: spec.min, max: spec.max, step, value: values[name],
      "aria-describedby": `help-${name}` });
    const box = h("input", { type: "number", id: `wn-${name}`, min: spec.min, max: spec.max, step, value: values[name],
      "aria-label": `${name} value` });
    const mark = h("span", { class: "changed", id: `changed-${name}` });
    inputs[name] = { range, box, mark };
    const set = (v) => {
      const clamped = Math.min(spec.max, Math.max(spec.min, Number(v)));
      values[name] = clamped; range.value = clamped; box.value = clamped;
      mark.textContent = clamped !== current.weights[name] ? `was ${current.weights[name]}` : "";
      schedulePreview();
    };
    range.addEventListener("input", () => set(range.value));
    box.addEventListener("change", () => set(box.value));
    return h("div", { class: "weight" }, h("label", { for: `w-${name}` }, name), range, box, mark,
      h("small", { id: `help-${name}` }, `${spec.help} [${spec.min}–${spec.max}, default ${spec.default}]`));
  });

  const comment = h("input", { id: "weights-comment", type: "text", maxlength: 500, placeholder: "why (optional)" });
  const save = h("button", { id: "weights-save", type: "button" }, "Save as new version");
  const reset = h("button", { id: "weights-reset", type: "button", class: "secondary" }, "Reset to version in force");
  const version = h("p", { id: "weights-version" });
  const previewBox = h("div", { id: "weights-preview", class: "grid2", "aria-live": "polite" });
  const estimateBox = h("p", { id: "weights-estimate", "aria-live": "polite" });
  const HOURS = [["", "now"], ...Array.from({ length: 24 }, (_, hr) => [String(hr), `${String(hr).padStart(2, "0")}:00`])];
  const history = h("div", { id: "weights-history" });

  root.append(h("div", { class: "layout" },
    h("div", { class: "card" }, h("h3", {}, "Weights"), version, ...rows,
      h("div", { class: "actions" }, h("label", { for: "weights-comment" }, "Comment"), comment, save, reset)),
    h("div", {},
      h("div", { class: "card controls" },
        ...select("preview-screen", "Lead-in screen", screens.map((s) => [s.id, `${s.id}${s.zone ? ` · ${s.zone}` : ""}`])),
        ...select("preview-crowd", "Crowd", Object.entries(CROWDS).map(([key, [label]]) => [key, label])),
        ...select("preview-k", "Top", [[3, "3"], [5, "5"], [8, "8"]], 5),
        ...select("preview-hour", "Hour", HOURS, "")),
      estimateBox, previewBox)),
  h("div", { class: "card" }, h("h3", {}, "History"), history));

  const changes = () => Object.fromEntries(Object.entries(values).filter(([n, v]) => v !== current.weights[n]));

  let latest = 0; // answers can come back out of order: only the newest request may render
  async function preview() {
    const ticket = ++latest;
    const crowd = root.querySelector("#preview-crowd").value;
    const screen = root.querySelector("#preview-screen").value;
    if (!screen) { previewBox.replaceChildren(h("p", {}, "Register a lead-in screen to preview rankings.")); return; }
    const body = { screen_id: screen, k: Number(root.querySelector("#preview-k").value),
      profile: CROWDS[crowd][1] };
    const hour = root.querySelector("#preview-hour").value;
    if (hour !== "") { const at = new Date(); at.setHours(Number(hour), 0, 0, 0); body.at = at.toISOString(); }
    try {
      const [before, after] = await Promise.all([api("/v1/recommend/coupons", { method: "POST", json: body }),
        api("/v1/recommend/coupons", { method: "POST", json: { ...body, weights: { ...values } } })]);
      if (ticket !== latest) return;
      const a = ranking(`Now (version ${current.version})`, before, null, "preview-before");
      const b = ranking(Object.keys(changes()).length ? "With your changes" : "With your changes (none yet)", after, before, "preview-after");
      previewBox.replaceChildren(a.box, b.box);
      previewBox.dataset.crowd = crowd;
      a.draw(); b.draw();
    } catch (err) {
      previewBox.replaceChildren(err.status === 404 && err.message === "Not Found"
        ? errorBox(new Error("Preview unavailable: this server has no recommendation API yet.")) : errorBox(err));
    }
  }
  // The estimated claim-rate change of the edit, off-policy on the logged slates (nothing is saved).
  let estimating = 0;
  async function estimate() {
    const ticket = ++estimating;
    const changed = changes();
    if (!Object.keys(changed).length) { estimateBox.textContent = ""; return; }
    try {
      const est = await api("/v1/ranking/weights/estimate", { method: "POST", json: { weights: changed } });
      if (ticket !== estimating) return;
      if (!est.slates) { estimateBox.textContent = `Estimated claim-rate change: not available (${est.reason}).`; return; }
      const pct = (x) => `${(100 * x).toFixed(2)} %`;
      const [lo, hi] = est.edited.dr.ci95;
      estimateBox.textContent = `Estimated claim rate per shown coupon: ${pct(est.current.dr.value)} → ${pct(est.edited.dr.value)} `
        + `(${est.dr_change >= 0 ? "+" : ""}${pct(est.dr_change)}; edited 95 % CI ${pct(lo)}–${pct(hi)}; `
        + `doubly robust on ${est.slates} logged slates).`;
      estimateBox.dataset.change = String(est.dr_change);
    } catch (err) { if (ticket === estimating) estimateBox.textContent = `Estimate unavailable: ${err.message}`; }
  }
  const schedulePreview = debounce(() => { preview(); estimate(); }, 300);

  async function refreshHistory() {
    const versions = await api("/v1/ranking/weights/history", { query: { limit: 20 } });
    history.replaceChildren(table("Saved versions, newest first", ["Version", "When", "Who", "Comment", "Changes", ""],
      versions.map((v) => [String(v.version), v.created_at ? new Date(v.created_at).toLocaleString() : "",
        v.author, v.comment || "",
        Object.entries(v.diff).map(([n, d]) => `${n}: ${d.from} → ${d.to}`).join("; ") || "–",
        v.version === current.version ? h("span", { class: "badge ok" }, "in force")
          : h("button", { type: "button", class: "secondary", "data-rollback": v.version,
            onclick: () => rollback(v.version) }, `Roll back to v${v.version}`)]),
      { id: "history-table" }));
  }

  function showCurrent() {
    version.textContent = `Version ${current.version} in force${current.author ? `, by ${current.author}` : ""}.`;
    for (const [name, { range, box, mark }] of Object.entries(inputs)) {
      values[name] = current.weights[name]; range.value = values[name]; box.value = values[name]; mark.textContent = "";
    }
  }

  async function rollback(target) {
    try {
      current = await api(`/v1/ranking/weights/rollback/${target}`, { method: "POST" });
      toast(`Rolled back: version ${current.version} now holds version ${target}'s weights`, "ok");
      showCurrent(); await refreshHistory(); schedulePreview();
    } catch (err) { toast(err.message, "error"); }
  }

  save.addEventListener("click", async () => {
    const changed = changes();
    if (!Object.keys(changed).length) { toast("Nothing changed", "info"); return; }
    try {
      current = await api("/v1/ranking/weights", { method: "PUT", json: { weights: changed, comment: comment.value || null } });
      comment.value = "";
      toast(`Saved version ${current.version}`, "ok");
      showCurrent(); await refreshHistory(); schedulePreview();
    } catch (err) { toast(err.message, "error"); }
  });
  reset.addEventListener("click", () => { showCurrent(); schedulePreview(); });
  for (const sel of ["#preview-screen", "#preview-crowd", "#preview-k", "#preview-hour"]) root.querySelector(sel).addEventListener("change", preview);

  showCurrent();
  await refreshHistory();
  await preview();
}
