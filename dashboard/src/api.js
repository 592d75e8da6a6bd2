// Talking to the hub: queries over `POST /graphql` the automatic persisted queries way, and the
// live feed over graphql-ws on `/graphql/ws`. Both on the page's own origin, nothing else.
//
// A query is first sent by its hash alone (`extensions.persistedQuery.sha256Hash`, SHA-256 of the
// document's exact text); a hub that does not know it answers PERSISTED_QUERY_NOT_FOUND and the
// query goes again with its text. A hub that knows nothing of hashes refuses the body without a
// query (BAD_REQUEST); the page then sends the text from the start for the rest of its life.

import { createClient } from "graphql-ws";

const hashes = new Map();
let hubKnowsHashes = true;

// SHA-256 of the text in lowercase hex; null where the browser offers no Web Crypto (a page
// served over plain HTTP from another host than localhost), and then the text is sent.
async function sha256(text) {
  if (hashes.has(text)) return hashes.get(text);
  if (!globalThis.crypto || !crypto.subtle) return null;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  hashes.set(text, hex);
  return hex;
}

// The operation's name, for `operationName`: the word after `query`/`subscription`.
export function operationName(document) {
  const found = /\b(?:query|subscription|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(document);
  return found ? found[1] : undefined;
}

function codes(answer) {
  return (answer.errors || []).map((e) => (e.extensions && e.extensions.code) || e.message);
}

async function post(body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify(body) });
  return response.json();
}

// Runs a document; returns `{ data, errors }` as the hub answered.
export async function query(document, variables, token) {
  const hash = hubKnowsHashes ? await sha256(document) : null;
  const base = { operationName: operationName(document), variables: variables || {} };
  if (hash) {
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    const answer = await post({ ...base, extensions }, token);
    const said = codes(answer);
    if (answer.data !== undefined || !(said.includes("PERSISTED_QUERY_NOT_FOUND") || said.includes("PersistedQueryNotFound") || said.includes("BAD_REQUEST"))) {
      return answer;
    }
    if (said.includes("BAD_REQUEST")) hubKnowsHashes = false;
    if (hubKnowsHashes) return post({ ...base, query: document, extensions }, token);
  }
  return post({ ...base, query: document }, token);
}

// A graphql-ws client on the page's origin, reconnecting (with the token, if any) after a drop;
// `onState(true|false)` says whether it is connected.
export function liveClient(token, onState) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  // A token whose access changed is refused (4403) and welcomed again at once with its new rights;
  // a revoked one is refused every time, and each refusal costs the address, so the page stops
  // after a few in a row (its queries meet the same refusal and say so).
  let refusals = 0;
  return createClient({
    url: `${scheme}//${location.host}/graphql/ws`,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: (closed) => {
      if (closed && (closed.code === 4403 || closed.code === 4400)) refusals += 1;
      return refusals < 3;
    },
    on: {
      connected: () => {
        refusals = 0;
        onState(true);
      },
      closed: () => onState(false),
    },
  });
}

// Subscribes with the document's text and hash (a hub that keeps documents registers it; one
// that does not ignores the extension); `onEvent` gets each `data`.
export async function subscribe(client, document, variables, onEvent) {
  const hash = await sha256(document);
  const payload = { query: document, operationName: operationName(document), variables: variables || {} };
  if (hash) payload.extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
  return client.subscribe(payload, {
    next: (message) => message.data && onEvent(message.data),
    error: () => {},
    complete: () => {},
  });
}
