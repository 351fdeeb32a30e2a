// network.js - the same attempts from Node.js.  argv: GATEWAY_PORT SERVER_PORT BRIDGE_IP
const net = require('net');
const dns = require('dns');
const http = require('http');
const os = require('os');
const [gwPort, srvPort, bridge] = process.argv.slice(2);
const out = {};

const tcp = (name, host, port) => new Promise(done => {
  const s = net.connect({ host, port: Number(port), timeout: 2000 });
  s.on('connect', () => { out[name] = 'connected'; s.destroy(); done(); });
  s.on('timeout', () => { out[name] = 'blocked: timeout'; s.destroy(); done(); });
  s.on('error', e => { out[name] = 'blocked: ' + e.code; done(); });
});

async function main() {
  for (const name of ['example.com', 'registry.npmjs.org']) {
    out['dns ' + name] = await new Promise(ok => dns.lookup(name, (e, a) => ok(e ? 'blocked: ' + e.code : 'resolved ' + a)));
  }
  await tcp('tcp 1.1.1.1:80', '1.1.1.1', 80);
  await tcp(`bridge gateway ${bridge}:${gwPort}`, bridge, gwPort);
  await tcp(`127.0.0.1:${gwPort} (the gateway's port)`, '127.0.0.1', gwPort);
  await tcp(`127.0.0.1:${srvPort} (the server's port)`, '127.0.0.1', srvPort);
  await tcp('169.254.169.254:80 (cloud metadata)', '169.254.169.254', 80);
  out['http metadata'] = await new Promise(ok => {
    const rq = http.get('http://169.254.169.254/latest/meta-data/', { timeout: 2000 }, () => ok('answered'));
    rq.on('error', e => ok('blocked: ' + e.code));
    rq.on('timeout', () => { rq.destroy(); ok('blocked: timeout'); });
  });
  out.interfaces = Object.keys(os.networkInterfaces()).sort();
  console.log(JSON.stringify(out));
}
main();
