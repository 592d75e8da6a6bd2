// A real webhook receiver for the API tests (tests/api/webhooks.rs): an HTTP server on a free
// port of 127.0.0.1 that verifies every request with the Standard Webhooks reference library
// (`new Webhook(secret).verify(body, headers)`), under each secret it was given, and answers
// with the status the test programmed.
//
// Protocol, one JSON object per line:
//   stdout, first:  {"port": 40123}
//   stdin:          {"secrets": ["whsec_..."], "failFirst": 4, "failStatus": 503}  (any time)
//   stdout, then:   one line per request received: {"request": n, "id", "timestamp",
//                   "signature", "body", "verified": [true, false, ...], "status": 200}
import http from "node:http";
import readline from "node:readline";
import { Webhook } from "standardwebhooks";

let config = { secrets: [], failFirst: 0, failStatus: 500 };
let received = 0;

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim()) config = { ...config, ...JSON.parse(line) };
});

function verify(secret, body, headers) {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    received += 1;
    const body = Buffer.concat(chunks).toString("utf8");
    const status = received <= config.failFirst ? config.failStatus : 200;
    const record = {
      request: received,
      id: request.headers["webhook-id"] ?? null,
      timestamp: request.headers["webhook-timestamp"] ?? null,
      signature: request.headers["webhook-signature"] ?? null,
      body,
      verified: config.secrets.map((secret) => verify(secret, body, request.headers)),
      status,
    };
    process.stdout.write(JSON.stringify(record) + "\n");
    response.writeHead(status, { "content-type": "text/plain" });
    response.end(status === 200 ? "ok" : "failing on purpose");
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});

// The test ends by closing our stdin or killing us; either way, go.
process.stdin.on("end", () => process.exit(0));
