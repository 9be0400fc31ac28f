// The JSON API from the browser pages: session cookie, CSRF header, optional Idempotency-Key;
// a non-2xx answer throws the API's error object ({code, message}).
window.ecabinetApi = (function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  async function call(method, path, body, key) {
    const headers = { "Content-Type": "application/json", "X-CSRFToken": csrf };
    if (key) headers["Idempotency-Key"] = key;
    const res = await fetch("/api/v1" + path, { method, headers, credentials: "same-origin",
      body: body ? JSON.stringify(body) : undefined });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw (data.error || { message: res.statusText });
    return data;
  }
  return { call };
})();
