// A Standard Webhooks receiver for the webhook sink's tests. It verifies
// every request with the npm standardwebhooks library (not ours), once per
// secret in SECRETS (a JSON array), records the verdicts, answers 204 when
// one secret verifies and 401 otherwise, and serves the records at GET /log.
// STANDARDWEBHOOKS_DIR is the npm prefix holding node_modules/standardwebhooks.
"use strict";
const http = require("http");
const path = require("path");
const { Webhook } = require(path.join(process.env.STANDARDWEBHOOKS_DIR, "node_modules", "standardwebhooks"));

const secrets = JSON.parse(process.env.SECRETS);
const hooks = secrets.map((s) => new Webhook(s));
const log = [];

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/log") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(log));
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const rec = { id: req.headers["webhook-id"], verified: [], errors: [], events: 0, seqs: [] };
    for (const wh of hooks) {
      try {
        const payload = wh.verify(body, req.headers);
        const evs = Array.isArray(payload) ? payload : [payload];
        rec.events = evs.length;
        rec.seqs = evs.map((e) => e.seq);
        rec.verified.push(true);
        rec.errors.push("");
      } catch (e) {
        rec.verified.push(false);
        rec.errors.push(String(e && e.message));
      }
    }
    log.push(rec);
    res.writeHead(rec.verified.some((v) => v) ? 204 : 401);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write("listening " + server.address().port + "\n");
});
