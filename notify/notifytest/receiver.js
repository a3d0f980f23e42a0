// A Standard Webhooks receiver for notify's tests. It verifies every
// request with the npm standardwebhooks library (not ours), once per secret
// in SECRETS (a JSON array), records the verdicts and the payload, answers
// 204 when one secret verifies and 401 otherwise, and serves the records at
// GET /log. STANDARDWEBHOOKS_DIR is the npm prefix holding
// node_modules/standardwebhooks.
"use strict";
const http = require("http");
const path = require("path");
const { Webhook } = require(path.join(process.env.STANDARDWEBHOOKS_DIR, "node_modules", "standardwebhooks"));

const hooks = JSON.parse(process.env.SECRETS).map((s) => new Webhook(s));
const log = [];

http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/log") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(log));
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const rec = { id: req.headers["webhook-id"], verified: [], errors: [], payload: null };
    for (const wh of hooks) {
      try {
        rec.payload = wh.verify(body, req.headers);
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
}).listen(0, "127.0.0.1", function () {
  process.stdout.write("listening " + this.address().port + "\n");
});
