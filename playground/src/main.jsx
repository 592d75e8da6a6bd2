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
import 'graphiql/graphiql.css';

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

// What a newcomer sees first: a query that runs without a token and shows the shape of the API.
const DEFAULT_QUERY = `# Welcome to the knowledge-needs hub. Press the run button (or Ctrl-Enter).
# Reference data is public; paste {"Authorization": "Bearer <token>"} under Headers to act as someone.
{
  municipality(code: "4601") {
    name
    cluster { name region { name } }
  }
  clusters {
    totalCount
    nodes { key name municipalities(first: 100) { totalCount } }
  }
  themes { nodes { key labels { nb nn en } } }
}
`;

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

// A link in one of the hub's mails opens the playground with a query for what the mail is
// about (`/?query=...`); it stands in the editor in place of the last one.
const linkedQuery = new URLSearchParams(window.location.search).get('query');

const root = createRoot(document.getElementById('graphiql'));
loadSchema().then((schema) =>
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      schema,
      // Users paste `{"Authorization": "Bearer ..."}` here. Whether headers are
      // saved in localStorage is left to GraphiQL's settings dialog (off by default).
      isHeadersEditorEnabled: true,
      defaultQuery: DEFAULT_QUERY,
      ...(linkedQuery ? { query: linkedQuery } : {}),
    }),
  ),
);
