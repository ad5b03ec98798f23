// Uploads: pick or drop a CSV/JSON file, dry-run it (row-level report, nothing written), then commit.

import { api } from "./api.js";
import { errorBox, h, select, table, toast } from "./dom.js";

export const id = "uploads";
export const title = "Uploads";
export const roles = ["merchandiser"];

const contentType = (file) => (file.name.toLowerCase().endsWith(".json") ? "application/json" : "text/csv");

// The data lines of a CSV (header and blank lines left out) to show the offending row next to its error.
function csvLines(text) {
  return text.replace(/^\ufeff/, "").split(/\r?\n/).slice(1).filter((line) => line.trim() !== "");
}

export async function mount(root) {
  const stores = await api("/v1/stores");
  const state = { file: null, text: "" };
  const report = h("div", { id: "upload-report", "aria-live": "polite" });
  const commit = h("button", { id: "upload-commit", type: "button", disabled: true }, "Commit upload");
  const fileInput = h("input", { id: "upload-file", type: "file", accept: ".csv,.json,text/csv,application/json",
    class: "visually-hidden" });
  const fileName = h("span", { id: "upload-file-name" }, "No file chosen");
  const drop = h("label", { id: "dropzone", class: "dropzone", for: "upload-file" },
    h("strong", {}, "Drop a CSV or JSON file here"), h("span", {}, "or click to choose one"), fileName);

  const form = h("div", { class: "card controls" },
    ...select("upload-store", "Store", stores.map((s) => [s.id, `${s.id} · ${s.name}`])),
    ...select("upload-kind", "Kind", [["catalog", "Catalog"], ["coupons", "Coupons"]]),
    ...select("upload-mode", "Mode", [["upsert", "Upsert (keep rows not in the file)"],
      ["replace", "Replace (remove rows not in the file)"]]),
    h("p", { class: "templates" }, "Templates: ",
      h("a", { href: "/v1/templates/catalog.csv", download: "catalog-template.csv", id: "template-catalog" }, "catalog.csv"),
      " · ",
      h("a", { href: "/v1/templates/coupons.csv", download: "coupons-template.csv", id: "template-coupons" }, "coupons.csv")));
  root.append(form, h("div", { class: "card" }, drop, fileInput, commit), report);
  if (!stores.length) report.replaceChildren(errorBox(new Error("No store is bound to this token.")));

  const target = () => {
    const store = root.querySelector("#upload-store").value;
    const kind = root.querySelector("#upload-kind").value;
    return { path: `/v1/stores/${encodeURIComponent(store)}/${kind}`, kind, store,
      mode: root.querySelector("#upload-mode").value };
  };

  async function send(dryRun) {
    const { path, mode } = target();
    return api(path, { method: "PUT", body: state.text, contentType: contentType(state.file),
      query: { mode, dry_run: dryRun ? "true" : undefined } });
  }

  function showErrors(err) {
    const lines = contentType(state.file) === "text/csv" ? csvLines(state.text) : [];
    const rows = (err.body.errors || []).map((e) => [
      e.row === 0 ? "header" : String(e.row), e.field || "–", e.message, e.row > 0 ? (lines[e.row - 1] || "") : ""]);
    report.replaceChildren(h("div", { class: "card invalid" },
      h("h3", {}, "Validation report: nothing was written"),
      h("p", { class: "error", id: "upload-summary" }, err.message),
      table("Rows with problems", ["Row", "Field", "Problem", "Row as uploaded"], rows, { id: "upload-errors" })));
  }

  async function dryRun() {
    commit.disabled = true;
    if (!state.file) return;
    report.replaceChildren(h("p", {}, "Checking…"));
    try {
      const r = await send(true);
      report.replaceChildren(h("div", { class: "card valid" },
        h("h3", {}, "Dry run passed: nothing written yet"),
        h("p", { id: "upload-summary" },
          `${r.rows} valid rows for store ${r.store_id}: ${r.new} new, ${r.updated} updated, ${r.removed} to remove (${r.mode}).`)));
      commit.disabled = false;
    } catch (err) {
      if (err.status === 422) showErrors(err); else report.replaceChildren(errorBox(err));
    }
  }

  async function choose(file) {
    state.file = file;
    state.text = await file.text();
    fileName.textContent = `${file.name} (${file.size.toLocaleString()} bytes)`;
    await dryRun();
  }

  fileInput.addEventListener("change", () => fileInput.files[0] && choose(fileInput.files[0]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) choose(e.dataTransfer.files[0]);
  });
  for (const sel of ["#upload-store", "#upload-kind", "#upload-mode"]) root.querySelector(sel).addEventListener("change", dryRun);
  commit.addEventListener("click", async () => {
    commit.disabled = true;
    try {
      const r = await send(false);
      report.replaceChildren(h("div", { class: "card valid" }, h("h3", {}, "Upload committed"),
        h("p", { id: "upload-summary" }, `${r.rows} rows written to store ${r.store_id}; ${r.removed} removed.`)));
      toast("Upload committed", "ok");
    } catch (err) {
      if (err.status === 422) showErrors(err); else report.replaceChildren(errorBox(err));
    }
  });
}
