// Interoperability check with the reference graphql-transport-ws client (npm `graphql-ws`), run
// by tests/api/realtime.rs: subscribes to `needEvents` and prints each event as one JSON line.
//
// Usage: node interop/subscribe.mjs ws://127.0.0.1:PORT/graphql/ws COUNT [TOKEN]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, count, token] = process.argv.slice(2);
let left = Number(count || 1);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
  on: { connected: () => console.log(JSON.stringify({ connected: true })) },
});

client.subscribe(
  { query: 'subscription { needEvents { kind to need: relatedNeed { id } } }' },
  {
    next: (message) => {
      console.log(JSON.stringify(message));
      left -= 1;
      if (left <= 0) {
        client.dispose();
        process.exit(0);
      }
    },
    error: (error) => {
      console.error(JSON.stringify(error));
      process.exit(1);
    },
    complete: () => process.exit(left <= 0 ? 0 : 2),
  },
);
