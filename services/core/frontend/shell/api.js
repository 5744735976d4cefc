// core's API client: JSON in and out, error answers as ApiError with the server's sentence, one
// refresh-and-retry on 401.

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

export function createApi({ token, refresh, onUnauthorized }) {
  async function request(method, path, { query, body } = {}, retried = false) {
    const url = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
    }
    const headers = { Accept: 'application/json' };
    const bearer = token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.', null);
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = text; }
    }
    if (!response.ok) {
      let detail = data && typeof data === 'object' && typeof data.detail === 'string' ? data.detail : null;
      if (!detail && response.status === 429) detail = 'Too many requests: wait a moment and try again.';
      if (!detail) detail = `The server answered ${response.status} ${response.statusText}.`;
      const error = new ApiError(response.status, detail, data);
      if (response.status === 401 && bearer && !retried && await refresh()) {
        return request(method, path, { query, body }, true);
      }
      if (response.status === 401 && bearer) onUnauthorized(error);
      throw error;
    }
    return data;
  }
  return {
    request,
    get: (path, query) => request('GET', path, { query }),
    post: (path, body, query) => request('POST', path, { body, query }),
    put: (path, body, query) => request('PUT', path, { body, query }),
    patch: (path, body, query) => request('PATCH', path, { body, query }),
    delete: (path, query) => request('DELETE', path, { query }),
  };
}

export function errorMessage(error) {
  if (error instanceof ApiError) return error.detail;
  return error && error.message ? error.message : String(error);
}
