// Entry of the offline GraphiQL playground served by knowledge-hub at `/`.
//
// build.rs bundles this file with esbuild into `playground.js` and
// `playground.css`, which the hub embeds in its binary and serves under
// `/playground/`. The page (playground/index.html) sets the endpoints:
//
//   window.HUB_PLAYGROUND = { endpoint: "/graphql", subscriptionEndpoint: "/graphql/ws" };
//
// Both may be relative paths; they are resolved against the page's location.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { buildSchema } from 'graphql';
import { StarIcon, ToolbarButton, TrashIcon, useEditorContext } from '@graphiql/react';
import 'graphiql/graphiql.css';
// The ready-made operations (see READY_MADE below).
import welcome from '../../documents/playground/01-welcome.graphql';
import needsAwaitingReview from '../../documents/playground/02-needs-awaiting-review.graphql';
import rounds from '../../documents/playground/03-rounds.graphql';
import roundRanking from '../../documents/playground/04-round-ranking.graphql';
import openCommissions from '../../documents/playground/05-open-commissions.graphql';
import myOrganisationsNeeds from '../../documents/playground/06-my-organisations-needs.graphql';
import auditLog from '../../documents/playground/07-audit-log.graphql';
import exportNeeds from '../../documents/playground/08-export-needs.graphql';

const config = Object.assign(
  { endpoint: '/graphql', subscriptionEndpoint: '/graphql/ws', schemaUrl: '/schema.graphql' },
  window.HUB_PLAYGROUND || {},
);

// Absolute http(s):// URL of the query endpoint.
function httpUrl(endpoint) {
  return new URL(endpoint, window.location.href).toString();
}

// Absolute ws:// or wss:// URL of the subscription endpoint (wss when the page
// itself is served over https).
function wsUrl(endpoint) {
  const url = new URL(endpoint, window.location.href);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  return url.toString();
}

const queryUrl = httpUrl(config.endpoint);
const subscriptionUrl = wsUrl(config.subscriptionEndpoint);

// The headers editor's content, as GraphiQL hands it to the fetcher (an
// object), turned into the `connection_init` payload of the websocket: every
// header is passed on, and any spelling of "authorization" becomes
// `Authorization`, so the server sees `{ "Authorization": "Bearer ..." }`.
function connectionParamsFrom(headers) {
  const params = {};
  if (headers && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || value === null) continue;
      const key = name.toLowerCase() === 'authorization' ? 'Authorization' : name;
      params[key] = String(value);
    }
  }
  return params;
}

// One graphql-ws client (graphql-transport-ws protocol) and one GraphiQL
// fetcher per distinct set of headers. The clients are lazy: a socket is only
// opened while a subscription runs, so idle entries cost nothing. When the
// headers change, a new client with the new `connection_init` payload is used
// for the next subscription; older ones are disposed once there are too many.
const MAX_CLIENTS = 8;
const fetchers = new Map();

function fetcherFor(headers) {
  const connectionParams = connectionParamsFrom(headers);
  const key = JSON.stringify(Object.entries(connectionParams).sort());
  let entry = fetchers.get(key);
  if (!entry) {
    const wsClient = createClient({
      url: subscriptionUrl,
      lazy: true,
      connectionParams,
    });
    entry = {
      wsClient,
      fetcher: createGraphiQLFetcher({ url: queryUrl, subscriptionUrl, wsClient }),
    };
    fetchers.set(key, entry);
    while (fetchers.size > MAX_CLIENTS) {
      const [oldestKey, oldest] = fetchers.entries().next().value;
      fetchers.delete(oldestKey);
      oldest.wsClient.dispose();
    }
  }
  return entry.fetcher;
}

const fetcher = (graphQLParams, fetcherOpts) =>
  fetcherFor(fetcherOpts && fetcherOpts.headers)(graphQLParams, fetcherOpts);

// The ready-made operations for coordinators' daily work: the plain files of
// `documents/playground/`, bundled as text (the hub also knows them by hash). Each opens with
// comment lines saying what it does, in nb and en, and may name example variables on a line
// `# Variables: {...}`. The first is the welcome a newcomer sees.
//
// A document's operation name, what its leading comment says, and its example variables.
function readyMade(text) {
  const explanation = [];
  let variables = '';
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const body = line.replace(/^#\s?/, '');
    const example = /^Variables:\s*(\{.*\})\s*$/.exec(body);
    if (example) {
      try {
        variables = JSON.stringify(JSON.parse(example[1]), null, 2);
      } catch {
        variables = example[1];
      }
    } else if (body.trim()) {
      explanation.push(body.trim());
    }
  }
  const named = /^\s*(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)/m.exec(text);
  return { name: named ? named[1] : 'Operation', query: text, variables, explanation: explanation.join(' ') };
}

const READY_MADE = [
  welcome,
  needsAwaitingReview,
  rounds,
  roundRanking,
  openCommissions,
  myOrganisationsNeeds,
  auditLog,
  exportNeeds,
].map(readyMade);

// The headers (the token) are kept in this browser across reloads: GraphiQL keeps each tab's
// headers (`shouldPersistHeaders`), and the last headers typed are kept apart so that every new
// tab, ready-made or not, starts with them. "Forget token" in the toolbar removes them all.
const HEADERS_KEY = 'knowledge-hub:headers';
const GRAPHIQL_HEADERS_KEY = 'graphiql:headers';
const GRAPHIQL_PREFIX = 'graphiql:';

function savedHeaders() {
  try {
    return window.localStorage.getItem(HEADERS_KEY) || undefined;
  } catch {
    return undefined;
  }
}

function saveHeaders(text) {
  if (forgetting) return;
  try {
    const blank = !text || !text.trim() || /^\{\s*\}$/.test(text.trim());
    if (blank) window.localStorage.removeItem(HEADERS_KEY);
    else window.localStorage.setItem(HEADERS_KEY, text);
  } catch {
    // Storage may be off (private windows); the headers then last as long as the page.
  }
}

// Set once "Forget token" is pressed: from then on nothing is written, since GraphiQL stores its
// tabs half a second after a change and could otherwise put the headers back during the reload.
let forgetting = false;

// GraphiQL's storage: the browser's, but deaf while the headers are being forgotten.
const storage = {
  getItem: (key) => window.localStorage.getItem(key),
  setItem: (key, value) => {
    if (!forgetting) window.localStorage.setItem(key, value);
  },
  removeItem: (key) => window.localStorage.removeItem(key),
  clear: () => {
    for (const key of graphiqlKeys()) window.localStorage.removeItem(key);
  },
  get length() {
    return graphiqlKeys().length;
  },
};

function graphiqlKeys() {
  return Object.keys(window.localStorage).filter((key) => key.startsWith(GRAPHIQL_PREFIX));
}

// Removes the kept headers everywhere GraphiQL keeps them: the active tab's, every tab's, and
// those of the history and favourites (which hold the headers each run was sent with).
function forgetHeaders() {
  forgetting = true;
  try {
    const local = window.localStorage;
    local.removeItem(HEADERS_KEY);
    local.removeItem(GRAPHIQL_HEADERS_KEY);
    const withoutHeaders = (value) => {
      if (Array.isArray(value)) return value.map(withoutHeaders);
      if (value && typeof value === 'object') {
        return Object.fromEntries(
          Object.entries(value).map(([key, inner]) => [key, key === 'headers' ? null : withoutHeaders(inner)]),
        );
      }
      return value;
    };
    for (const key of graphiqlKeys()) {
      let kept;
      try {
        kept = JSON.parse(local.getItem(key));
      } catch {
        continue; // not JSON: a plain setting such as the theme
      }
      if (kept && typeof kept === 'object') local.setItem(key, JSON.stringify(withoutHeaders(kept)));
    }
  } catch {
    // Nothing was kept.
  }
  // GraphiQL holds the headers in its editors too: a reload starts them empty.
  window.location.reload();
}

const h = React.createElement;

function ForgetTokenButton() {
  return h(
    ToolbarButton,
    { onClick: forgetHeaders, label: 'Forget token: remove the saved headers from this browser' },
    h(TrashIcon, { className: 'graphiql-toolbar-icon', 'aria-hidden': 'true' }),
  );
}

// The collection of ready-made operations in the sidebar: each opens in a new tab with its
// example variables and the saved headers.
function ReadyMadePanel() {
  const { addTab, queryEditor, variableEditor } = useEditorContext({ nonNull: true });
  const open = (operation) => {
    addTab();
    // The new tab shows the default query first; the operation replaces it once it is active.
    window.setTimeout(() => {
      if (queryEditor) queryEditor.setValue(operation.query);
      if (variableEditor) variableEditor.setValue(operation.variables);
    }, 0);
  };
  return h(
    'div',
    { className: 'hub-ready-made' },
    h('div', { className: 'graphiql-doc-explorer-title' }, 'Ready-made operations'),
    h(
      'ul',
      null,
      READY_MADE.map((operation) =>
        h(
          'li',
          { key: operation.name },
          h('button', { type: 'button', onClick: () => open(operation) }, operation.name),
          h('p', null, operation.explanation),
        ),
      ),
    ),
  );
}

const readyMadePlugin = {
  title: 'Ready-made operations',
  icon: () => h(StarIcon, { 'aria-hidden': 'true' }),
  content: ReadyMadePanel,
};

// The schema comes from the hub's published SDL rather than from introspection, which the hub
// allows only with a token: the playground works for everyone before a token is pasted.
async function loadSchema() {
  try {
    const response = await fetch(new URL(config.schemaUrl, window.location.href));
    if (!response.ok) return undefined;
    return buildSchema(await response.text());
  } catch (err) {
    console.warn('could not load the schema; falling back to introspection', err);
    return undefined;
  }
}

// A shared link opens its operation: `/?query=...&variables=...&operationName=...` (the hub's
// mails link to what they are about this way). It opens in a tab of its own beside the kept ones.
const linked = new URLSearchParams(window.location.search);
const linkedQuery = linked.get('query');
const linkedProps = linkedQuery
  ? {
      query: linkedQuery,
      ...(linked.get('variables') ? { variables: linked.get('variables') } : {}),
      ...(linked.get('operationName') ? { operationName: linked.get('operationName') } : {}),
    }
  : {};

const headers = savedHeaders();
const root = createRoot(document.getElementById('graphiql'));
loadSchema().then((schema) =>
  root.render(
    h(GraphiQL, {
      fetcher,
      schema,
      isHeadersEditorEnabled: true,
      storage,
      shouldPersistHeaders: true,
      defaultHeaders: headers,
      onEditHeaders: saveHeaders,
      // A first visit shows the welcome and the ready-made operations as tabs; later visits
      // show the tabs as they were left (the collection in the sidebar opens any of them again).
      defaultQuery: READY_MADE[0].query,
      defaultTabs: READY_MADE.map((operation) => ({
        query: operation.query,
        variables: operation.variables || undefined,
        headers,
      })),
      plugins: [readyMadePlugin],
      toolbar: { additionalComponent: ForgetTokenButton },
      ...linkedProps,
    }),
  ),
);
