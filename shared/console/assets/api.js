// The API client. The console is served by the API itself at <base>/console,
// so the API's root is the page's path without /console: this works on a
// local stack (http://127.0.0.1:3000/console), and on a deployed API with or
// without a stage in the path (https://x.execute-api.../prod/console).

const KEY = 'leadscore.apiKey';

export const apiBase = location.pathname.replace(/\/console(\/.*)?$/, '') + '/';

// The key lives in sessionStorage: this tab only, gone when it closes.
export const getKey = () => sessionStorage.getItem(KEY) || '';
export const setKey = (k) => sessionStorage.setItem(KEY, k);
export const clearKey = () => sessionStorage.removeItem(KEY);

// ApiError is a non-2xx answer, with the API's error body
// {error, message, details: [{field, message}]}.
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `the API answered ${status}`);
    this.status = status;
    this.code = (body && body.error) || '';
    this.details = (body && Array.isArray(body.details)) ? body.details : [];
  }
}

// api calls path (relative to the API's root, e.g. "v1/leads?stage=mql")
// with the key, and returns the decoded JSON body.
export async function api(path, { method = 'GET', body, contentType } = {}) {
  const headers = { 'x-api-key': getKey(), accept: 'application/json' };
  if (contentType) headers['content-type'] = contentType;
  let res;
  try {
    res = await fetch(apiBase + path.replace(/^\//, ''), { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { error: 'network', message: 'The API could not be reached: ' + e.message });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// q builds a query string from the defined values of params.
export function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const str = u.toString();
  return str ? '?' + str : '';
}
