// piston_ws.test.mjs - sce-gateway's GET /api/v2/connect driven as Piston's
// own CLI drives Piston (the `ws` client, Piston's messages), against the
// ctest fixture `stack` (the gateway's URL is in $SCE_TEST_STACK_ENV):
// interactive Python and Node.js runs (runtime, stage, a prompt, stdin, the
// answer, exit 0, close 4999), the close codes 4000, 4001 and 4003, an
// unknown runtime (error + 4002), the output cap (SIGKILL, no data message
// over the cap), a cross-site Origin refused (403), and a client that
// leaves mid-run: the run's container is gone within 5 s.
//
//   node tests/piston/piston_ws.test.mjs        (SCE_TEST_STACK_ENV or SCE_GATEWAY set)
import assert from 'node:assert/strict';
import http from 'node:http';
import WebSocket from 'ws';
import { gatewayUrl, runTests } from './harness.mjs';

const URL = gatewayUrl().replace(/^http/, 'ws') + '/api/v2/connect';
const OUTPUT_CAP = 64 * 1024; // sce-server's default output_limit

// One socket, its messages in order, its close, and waits on either.
function connect(headers = {}) {
    const ws = new WebSocket(URL, { headers });
    const s = { ws, msgs: [], closed: null, error: null, waiters: [] };
    const poke = () => s.waiters.slice().forEach(w => w());
    ws.on('message', data => { s.msgs.push(JSON.parse(data.toString())); poke(); });
    ws.on('close', (code, reason) => { s.closed = { code, reason: reason.toString() }; poke(); });
    ws.on('error', e => { s.error = e; poke(); });
    ws.on('unexpected-response', (req, res) => { s.error = { status: res.statusCode }; poke(); });
    s.opened = new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    s.send = obj => ws.send(JSON.stringify(obj));
    // Resolves once pred(s) holds; fails after ms.
    s.until = (pred, ms, what) => new Promise((resolve, reject) => {
        const check = () => {
            if (pred(s)) { done(); resolve(); }
        };
        const timer = setTimeout(() => {
            done();
            reject(new Error(`${what}: not within ${ms} ms; messages ${JSON.stringify(s.msgs)}, ` +
                             `close ${JSON.stringify(s.closed)}`));
        }, ms);
        const done = () => { clearTimeout(timer); s.waiters = s.waiters.filter(w => w !== check); };
        s.waiters.push(check);
        check();
    });
    s.stdout = () => s.msgs.filter(m => m.type === 'data' && m.stream === 'stdout').map(m => m.data).join('');
    return s;
}

// An interactive run: prompt, stdin, answer, exit 0, close 4999.
async function interactive(language, version, code, runtimeName) {
    const s = connect();
    await s.opened;
    s.send({ type: 'init', language, version, files: [{ name: 'main', content: code }],
             args: [], run_timeout: 10000 });
    await s.until(x => x.stdout().includes('name? '), 30000, `${language}: the prompt`);
    assert.equal(s.msgs[0].type, 'runtime');
    assert.equal(s.msgs[0].language, runtimeName);
    assert.match(s.msgs[0].version, /^\d+\.\d+\.\d+$/);
    assert.deepEqual(s.msgs[1], { type: 'stage', stage: 'run' });
    s.send({ type: 'data', stream: 'stdin', data: 'Ada\n' });
    await s.until(x => x.closed !== null, 30000, `${language}: the end`);
    assert.equal(s.stdout(), 'name? hello Ada\n');
    const exits = s.msgs.filter(m => m.type === 'exit');
    assert.deepEqual(exits, [{ type: 'exit', stage: 'run', code: 0, signal: null }]);
    assert.deepEqual(s.msgs[s.msgs.length - 1], exits[0], 'exit is the last message');
    assert.deepEqual(s.closed, { code: 4999, reason: 'Job Completed' });
}

// 1 while the engine knows the container.
function containerExists(id) {
    return new Promise((resolve, reject) => {
        const req = http.get({ socketPath: '/var/run/docker.sock', path: `/v1.41/containers/${id}/json` },
                             res => { res.resume(); resolve(res.statusCode === 200); });
        req.on('error', reject);
    });
}

const tests = {
    async python() {
        await interactive('python', '3.x', 'name = input("name? "); print("hello", name)\n', 'python');
    },
    async node() {
        await interactive('javascript', '>=18',
                          "const rl = require('readline').createInterface({ input: process.stdin });\n" +
                          "process.stdout.write('name? ');\n" +
                          // A pipe's stdin keeps node alive after rl.close() (as
                          // on Piston): the program lets go of it itself.
                          "rl.once('line', l => { console.log('hello', l); rl.close(); process.stdin.destroy(); });\n",
                          'javascript');
    },
    async initTimeout() {
        const s = connect();
        await s.opened;
        const t0 = Date.now();
        await s.until(x => x.closed !== null, 5000, 'no init');
        assert.deepEqual(s.closed, { code: 4001, reason: 'Initialization Timeout' });
        assert.ok(Date.now() - t0 >= 800, 'closed about 1 s after the upgrade');
        assert.deepEqual(s.msgs, []);
    },
    async notInitialized() {
        const s = connect();
        await s.opened;
        s.send({ type: 'data', stream: 'stdin', data: 'x\n' });
        await s.until(x => x.closed !== null, 5000, 'data before init');
        assert.deepEqual(s.closed, { code: 4003, reason: 'Not yet initialized' });
    },
    async alreadyInitialized() {
        const s = connect();
        await s.opened;
        const init = { type: 'init', language: 'py', version: '*',
                       files: [{ content: 'import time\ntime.sleep(5)\n' }] };
        s.send(init);
        s.send(init);
        await s.until(x => x.closed !== null, 10000, 'a second init');
        assert.deepEqual(s.closed, { code: 4000, reason: 'Already Initialized' });
    },
    async unknownRuntime() {
        for (const [language, version] of [['cobol', '*'], ['python', '2.7']]) {
            const s = connect();
            await s.opened;
            s.send({ type: 'init', language, version, files: [{ content: 'print(1)' }] });
            await s.until(x => x.closed !== null, 10000, `${language}-${version}`);
            assert.deepEqual(s.msgs, [{ type: 'error', message: `${language}-${version} runtime is unknown` }]);
            assert.deepEqual(s.closed, { code: 4002, reason: 'Notified Error' });
        }
    },
    async outputCap() {
        const s = connect();
        await s.opened;
        s.send({ type: 'init', language: 'python', version: '*',
                 files: [{ content: 'import sys\nwhile True:\n    sys.stdout.write("x" * 1000)\n' }] });
        await s.until(x => x.closed !== null, 30000, 'a run over the output cap');
        const data = s.msgs.filter(m => m.type === 'data');
        assert.ok(data.length > 0);
        for (const m of data) assert.ok(Buffer.byteLength(m.data) <= OUTPUT_CAP, 'a data message within the cap');
        assert.ok(s.stdout().length <= OUTPUT_CAP);
        assert.deepEqual(s.msgs[s.msgs.length - 1], { type: 'exit', stage: 'run', code: null, signal: 'SIGKILL' });
        assert.deepEqual(s.closed, { code: 4999, reason: 'Job Completed' });
    },
    async crossSiteOrigin() {
        const s = connect({ Origin: 'https://evil.example' });
        await assert.rejects(s.opened, /HTTP 403/);
    },
    async disconnectCancels() {
        const s = connect();
        await s.opened;
        s.send({ type: 'init', language: 'python', version: '*', files: [{ content:
            "import re, time\n" +
            "print(re.search(r'/containers/([0-9a-f]{64})/', open('/proc/self/mountinfo').read()).group(1), flush=True)\n" +
            "time.sleep(30)\n" }] });
        await s.until(x => /^[0-9a-f]{64}\n/.test(x.stdout()), 30000, 'the container id');
        const id = s.stdout().slice(0, 64);
        assert.ok(await containerExists(id), 'the container runs');
        const t0 = Date.now();
        s.ws.close();
        while (await containerExists(id)) {
            if (Date.now() - t0 > 5000) assert.fail(`container ${id} still exists 5 s after the close`);
            await new Promise(r => setTimeout(r, 200));
        }
    },
};

await runTests(tests);
