// The console's only way to the service: the JSON API with the bearer token of this tab.

const KEY = "vitrine.token";

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && typeof body.detail === "string" && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

function url(path, query) {
  const u = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") u.searchParams.set(name, value);
  }
  return u;
}

export async function api(path, { method = "GET", json, body, contentType, query } = {}) {
  const headers = { Authorization: `Bearer ${token.get() || ""}` };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  const res = await fetch(url(path, query), { method, headers, body });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  if (res.status === 401) window.dispatchEvent(new CustomEvent("vitrine:unauthorized"));
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// Minutes to add to UTC for the browser's local time: the mall's local time on its own machines.
export const tzOffsetMin = () => -new Date().getTimezoneOffset();

// A file download of an authenticated URL: fetched with the bearer token, handed over as a blob.
export async function download(path, filename) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token.get() || ""}` } });
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${path}`);
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
