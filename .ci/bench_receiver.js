// A fast webhook receiver for .ci/bench-events: answers every POST with 204 and counts; each
// delivery's Webhook-Id and body type are kept so the benchmark can check exactly-once and
// order. GET /stats answers {count, unique, first_ms, last_ms, types}.
const http = require('http');
const port = Number(process.argv[2]);
let count = 0, first = 0, last = 0;
const ids = new Set();
const order = [];
http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count, unique: ids.size, first_ms: first, last_ms: last, in_order: order.every((s, i) => i === 0 || order[i - 1] < s) }));
    return;
  }
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const now = Date.now();
    if (!first) first = now;
    last = now;
    count += 1;
    ids.add(req.headers['webhook-id']);
    try {
      const event = JSON.parse(body);
      if (event.data && typeof event.data.email === 'string') {
        const n = /^e-(\d+)@/.exec(event.data.email);
        if (n) order.push(Number(n[1]));
      }
    } catch (e) {}
    res.writeHead(204).end();
  });
}).listen(port, '127.0.0.1');
