// Small DOM helpers: elements are built from data with textContent, never from HTML strings.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function table(caption, columns, rows, attrs = {}) {
  return h("table", attrs,
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))));
}

export function select(id, label, options, value) {
  const el = h("select", { id, name: id },
    options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));
  return [h("label", { for: id }, label), el];
}

export function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = `show ${kind}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = ""; }, 4000);
}

export const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);
export const num = (x) => (x === null || x === undefined ? "suppressed" : Number(x).toLocaleString());

export function errorBox(err) {
  const box = h("div", { class: "error-box", role: "alert" }, h("strong", {}, err.message || String(err)));
  if (err.status === 403) box.append(h("p", {}, "Your token's role may not see this."));
  return box;
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}
