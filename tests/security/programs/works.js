// works.js - what Node.js programs commonly do must still work under the
// hardened container.  Prints one line per feature and "ALL OK" at the end.
const cp = require('child_process');
const wt = require('worker_threads');
const fs = require('fs');
const os = require('os');
const net = require('net');
const crypto = require('crypto');
const zlib = require('zlib');
const dns = require('dns');

async function main() {
  console.log('execSync', cp.execSync('echo $((6*7))').toString().trim());
  console.log('spawnSync', cp.spawnSync('sh', ['-c', 'echo spawned']).stdout.toString().trim());
  console.log('exec', await new Promise((ok, ko) => cp.exec('echo exec', (e, out) => (e ? ko(e) : ok(out.trim())))));
  console.log('spawn exit', await new Promise(ok => cp.spawn('true').on('exit', ok)));
  const w = new wt.Worker('require("worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
  console.log('worker', await new Promise(ok => w.on('message', ok)));
  await w.terminate();
  fs.writeFileSync('/tmp/a', 'copied');
  fs.copyFileSync('/tmp/a', '/tmp/b');
  console.log('files', await fs.promises.readFile('/tmp/b', 'utf8'));
  fs.watch('/tmp', () => {}).close();
  console.log('os', os.cpus().length > 0, os.totalmem() > 0, os.hostname());
  console.log('crypto', crypto.createHash('sha256').update('x').digest('hex').slice(0, 8),
              crypto.randomBytes(4).length);
  console.log('zlib', zlib.gunzipSync(zlib.gzipSync('zip')).toString());
  console.log('dns localhost', await new Promise(ok => dns.lookup('localhost', (e, a) => ok(e ? e.code : a))));
  const srv = net.createServer(s => s.end('ping')).listen(0, '127.0.0.1');
  await new Promise(ok => srv.on('listening', ok));
  const got = await new Promise(ok => net.connect(srv.address().port, '127.0.0.1').on('data', d => ok(d.toString())));
  srv.close();
  console.log('loopback', got);
  console.log('ALL OK');
}
main().catch(e => { console.error(e); process.exit(1); });
