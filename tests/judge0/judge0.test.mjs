// judge0.test.mjs - Judge0 CE 1.13's API on sce-gateway, against the real
// server and engine (the ctest fixture `stack`).
//
// usage: node judge0.test.mjs SCE_GATEWAY_BINARY   (SCE_TEST_STACK_ENV set)
//
// It starts a gateway of its own on the stack's server, without a rate
// limit (it sends some forty requests in a few seconds; the stack's gateway
// keeps the default 2/s for the other tests), and:
//   1. replays fixtures.json, requests and answers recorded from Judge0's
//      documentation: same status, same keys, same values except the
//      volatile ones (token, time, memory...), whose types are checked;
//   2. checks what Judge0 decides: Accepted, Wrong Answer (and trailing
//      whitespace accepted), Time Limit Exceeded, NZEC, SIGSEGV and SIGFPE
//      by signal, wait=false then In Queue/Processing then the result,
//      a 404 token, 422s, callback_url and enable_network refused,
//      fields=*, base64 of bytes that are not UTF-8 (stdout as the history
//      stores it, U+FFFD), the comparison in that form, stdin closed once
//      written (EOF), limits past the maxima refused, and a
//      token read back from the history once the run is forgotten is not
//      waited for here (SCE_RUN_KEPT_MS is a minute; test_judge0 and the
//      history tests cover the pieces).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = JSON.parse(fs.readFileSync(path.join(here, 'fixtures.json'), 'utf8'));
const gatewayBin = process.argv[2];
if (!gatewayBin) throw new Error('usage: judge0.test.mjs SCE_GATEWAY_BINARY');

function stackServer() {
    const file = process.env.SCE_TEST_STACK_ENV;
    if (!file || !fs.existsSync(file)) throw new Error('no stack: set SCE_TEST_STACK_ENV');
    const m = /^SCE_SERVER=(.+)$/m.exec(fs.readFileSync(file, 'utf8'));
    if (!m) throw new Error(`${file} names no server`);
    return m[1].trim();
}

const logFile = path.join(process.env.TMPDIR || '/tmp', `sce-judge0-gateway.${process.pid}.log`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startGateway() {
    for (let attempt = 0; attempt < 5; attempt++) {
        const port = 20000 + Math.floor(Math.random() * 20000);
        const child = spawn(gatewayBin, ['--listen', `127.0.0.1:${port}`, '--server', stackServer(),
            '--rate-limit', '0'], { stdio: ['ignore', 'ignore', fs.openSync(logFile, 'w')] });
        let exited = false;
        child.on('exit', () => { exited = true; });
        for (let i = 0; i < 50 && !exited; i++) {
            try {
                const r = await fetch(`http://127.0.0.1:${port}/healthz`);
                if (r.ok) return { child, url: `http://127.0.0.1:${port}` };
            } catch { /* not yet */ }
            await sleep(100);
        }
        child.kill('SIGTERM');
    }
    throw new Error('the gateway did not start');
}

const { child, url: gw } = await startGateway();
let failures = 0;

async function call(method, p, body) {
    const r = await fetch(gw + p, {
        method,
        headers: body !== undefined ? { 'Content-Type': 'application/json' } : {},
        body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* left null */ }
    return { status: r.status, body: json, text };
}

async function check(name, fn) {
    try {
        await fn();
        console.log(`ok   ${name}`);
    } catch (e) {
        failures++;
        console.log(`FAIL ${name}: ${e.stack || e}`);
    }
}

const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DECIMAL = /^\d+\.\d+$/;

// An answer against a recorded one: same keys, same values, or for the
// volatile keys the same type (and a token that is a UUID, a time that is
// a decimal string).
function like(got, want, volatile, where = '') {
    if (Array.isArray(want)) {
        assert.ok(Array.isArray(got), `${where}: expected an array, got ${JSON.stringify(got)}`);
        assert.equal(got.length, want.length, `${where}: length`);
        want.forEach((w, i) => like(got[i], w, volatile, `${where}[${i}]`));
        return;
    }
    if (want !== null && typeof want === 'object') {
        assert.ok(got !== null && typeof got === 'object', `${where}: expected an object, got ${JSON.stringify(got)}`);
        assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${where}: keys`);
        for (const k of Object.keys(want)) {
            if (volatile.includes(k)) {
                assert.equal(typeof got[k], typeof want[k], `${where}.${k}: type of ${JSON.stringify(got[k])}`);
                if (k === 'token') assert.match(got[k], TOKEN);
                if (k === 'time' || k === 'wall_time') assert.match(got[k], DECIMAL);
            } else {
                like(got[k], want[k], volatile, `${where}.${k}`);
            }
        }
        return;
    }
    assert.deepEqual(got, want, where);
}

async function replay(name, subst = {}) {
    const f = fixtures[name];
    let p = f.request.path;
    for (const [k, v] of Object.entries(subst)) p = p.replace(`{${k}}`, v);
    const r = await call(f.request.method, p, f.request.body);
    assert.equal(r.status, f.response.status, `${name}: status; body ${r.text}`);
    like(r.body, f.response.body, [...fixtures.volatile, ...(f.volatile || [])], name);
    return r.body;
}

// Polls a token until its status is neither In Queue nor Processing.
async function result(token, query = '') {
    for (let i = 0; i < 300; i++) {
        const r = await call('GET', `/submissions/${token}${query}`);
        assert.equal(r.status, 200, r.text);
        if (r.body.status === undefined || r.body.status.id > 2) return r.body;
        await sleep(100);
    }
    throw new Error(`${token} never ended`);
}

const submit = (body, q = '?wait=true') => call('POST', `/submissions${q}`, body);

try {
    // ---------------------------------------------------------- fixtures
    for (const name of ['create_wait', 'create_no_language', 'create_unknown_language',
        'create_base64_wait', 'statuses', 'language']) {
        await check(`fixture ${name}`, () => replay(name));
    }
    await check('fixture create, then get_fields', async () => {
        const { token } = await replay('create');
        await result(token);
        await replay('get_fields', { token });
    });
    await check('fixture batch_create, then batch_get', async () => {
        const created = await replay('batch_create');
        // The doc's batch get has two good submissions: make the second.
        const py = await submit({ language_id: 71, source_code: 'print("hello from Python")' }, '');
        assert.equal(py.status, 201, py.text);
        const tokens = [created[0].token, py.body.token];
        for (const t of tokens) await result(t);
        await replay('batch_get', { tokens: tokens.join(',') });
    });
    await check('languages: Judge0 ids with the versions sce runs', async () => {
        const r = await call('GET', '/languages');
        assert.equal(r.status, 200);
        const ids = r.body.map((l) => l.id);
        for (const id of [63, 71, 92, 93, 97, 102]) assert.ok(ids.includes(id), `id ${id} in ${ids}`);
        const py = r.body.find((l) => l.id === 71).name;
        assert.match(py, /^Python \(3\.\d+\.\d+\)$/);
        assert.match(r.body.find((l) => l.id === 102).name, /^JavaScript \(Node\.js \d+\.\d+\.\d+\)$/);
        assert.equal((await call('GET', '/languages/4')).status, 404);
        const all = await call('GET', '/languages/all');
        assert.equal(all.body.length, 6);
        assert.equal(all.body[0].is_archived, false);
    });
    await check('about and config_info, as the Python SDK reads them at start-up', async () => {
        const about = await call('GET', '/about');
        assert.equal(about.status, 200);
        assert.equal(typeof about.body.version, 'string');
        const c = await call('GET', '/config_info');
        assert.equal(c.status, 200);
        assert.equal(c.body.enable_callbacks, false);
        assert.equal(c.body.allow_enable_network, false);
        assert.equal(c.body.max_submission_batch_size, 20);
        assert.ok(c.body.max_queue_size > 0);
    });

    // ---------------------------------------------------------- statuses
    const cases = [
        ['Accepted', { language_id: 71, source_code: 'print(input()[::-1])', stdin: 'abc', expected_output: 'cba' }, 3],
        ['Wrong Answer', { language_id: 71, source_code: 'print("cbb")', expected_output: 'cba' }, 4],
        ['trailing whitespace accepted', { language_id: 63, source_code: 'console.log("a  \\nb\\t\\n\\n")', expected_output: 'a\nb' }, 3],
        ['Time Limit Exceeded', { language_id: 71, source_code: 'while True: pass', cpu_time_limit: 1, cpu_extra_time: 0 }, 5],
        ['NZEC', { language_id: 71, source_code: 'import sys\nsys.exit(3)' }, 11],
        ['NZEC (Node.js)', { language_id: 93, source_code: 'throw new Error("boom")' }, 11],
        ['SIGSEGV', { language_id: 71, source_code: 'import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)' }, 7],
        ['SIGFPE', { language_id: 92, source_code: 'import os, signal\nos.kill(os.getpid(), signal.SIGFPE)' }, 9],
    ];
    for (const [name, body, want] of cases) {
        await check(`status ${want}: ${name}`, async () => {
            const r = await submit(body, '?wait=true&fields=*');
            assert.equal(r.status, 201, r.text);
            assert.equal(r.body.status.id, want, r.text);
            assert.equal(r.body.status_id, want);
            assert.match(r.body.time, DECIMAL);
            if (want === 11) assert.notEqual(r.body.exit_code, 0);
            if (want === 7) assert.equal(r.body.exit_signal, 11);
            if (want === 9) assert.equal(r.body.exit_signal, 8);
            if (want === 5) assert.equal(r.body.message, 'Time limit exceeded');
        });
    }

    // ---------------------------------------------------------- wait=false
    await check('wait=false: In Queue or Processing, then the result', async () => {
        const r = await submit({ language_id: 71, source_code: 'import time\ntime.sleep(1.5)\nprint("late")' }, '');
        assert.equal(r.status, 201);
        assert.deepEqual(Object.keys(r.body), ['token']);
        const early = await call('GET', `/submissions/${r.body.token}`);
        assert.equal(early.status, 200);
        assert.ok([1, 2].includes(early.body.status.id), early.text);
        assert.equal(early.body.stdout, null);
        const done = await result(r.body.token);
        assert.equal(done.status.id, 3);
        assert.equal(done.stdout, 'late\n');
        // A token without dashes is the same submission.
        const bare = await call('GET', `/submissions/${r.body.token.replaceAll('-', '')}?fields=token`);
        assert.equal(bare.body.token, r.body.token);
    });

    // ---------------------------------------------------------- errors
    await check('404: unknown and malformed tokens', async () => {
        for (const t of ['00000000-0000-0000-0000-000000000000', 'not-a-token']) {
            const r = await call('GET', `/submissions/${t}`);
            assert.equal(r.status, 404, r.text);
            assert.equal(r.body.error, 'Not Found');
        }
        const b = await call('GET', '/submissions/batch?tokens=00000000-0000-0000-0000-000000000000');
        assert.equal(b.status, 200);
        assert.deepEqual(b.body, { submissions: [null] });
    });
    await check('422: refused fields, named, with the reason', async () => {
        const r = await submit({ language_id: 71, source_code: 'print(1)', callback_url: 'http://127.0.0.1:1/', enable_network: true,
            number_of_runs: 2, redirect_stderr_to_stdout: true, compiler_options: '-O2', memory_limit: 100 }, '');
        assert.equal(r.status, 422, r.text);
        assert.match(r.body.callback_url[0], /not allowed.*request/);
        assert.match(r.body.enable_network[0], /not allowed.*network/);
        assert.ok(r.body.number_of_runs && r.body.redirect_stderr_to_stdout && r.body.compiler_options);
        assert.deepEqual(r.body.memory_limit, ['must be greater than or equal to 2048']);
        const f = await call('GET', '/submissions/00000000-0000-0000-0000-000000000000?fields=stdout,nope');
        assert.equal(f.status, 400);
        assert.deepEqual(f.body, { error: 'invalid fields: [nope]' });
        const none = await call('POST', '/submissions/batch', { submissions: [] });
        assert.equal(none.status, 400);
    });

    // ---------------------------------------------------------- fields, base64
    await check('fields=* and base64 of bytes that are not UTF-8', async () => {
        const src = 'import sys\nsys.stdout.buffer.write(bytes([0xfe, 0x00, 0x41]) + sys.stdin.buffer.read())';
        const r = await submit({ language_id: 71, source_code: Buffer.from(src).toString('base64'),
            stdin: Buffer.from([0xff, 0x42]).toString('base64') }, '?wait=true&base64_encoded=true&fields=*');
        assert.equal(r.status, 201, r.text);
        assert.equal(Object.keys(r.body).length, 35);
        // stdout as the history keeps it: invalid bytes and NULs are U+FFFD.
        assert.equal(Buffer.from(r.body.stdout, 'base64').toString(), '\ufffd\ufffdA\ufffdB');
        assert.deepEqual([...Buffer.from(r.body.stdin, 'base64')], [0xff, 0x42]);
        assert.equal(Buffer.from(r.body.source_code, 'base64').toString(), src);
        assert.equal(r.body.language.id, 71);
        // stdout is text now; the stdin echo is not: Judge0's 400 without base64.
        const plain = await call('GET', `/submissions/${r.body.token}`);
        assert.equal(plain.status, 200, plain.text);
        assert.equal(plain.body.stdout, '\ufffd\ufffdA\ufffdB');
        const echo = await call('GET', `/submissions/${r.body.token}?fields=stdin`);
        assert.equal(echo.status, 400);
        assert.match(echo.body.error, /base64_encoded=true/);
    });
    await check('output that is not UTF-8 is compared as the history stores it', async () => {
        // b"\xe9\n" is stored as U+FFFD "\n": the same status live and later.
        const r = await submit({ language_id: 71, source_code: 'import sys\nsys.stdout.buffer.write(b"\\xe9\\n")',
            expected_output: '\ufffd\n' }, '?wait=true&base64_encoded=false&fields=status,stdout');
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body.status.id, 3, r.text);
        const r64 = await submit({ language_id: 71,
            source_code: Buffer.from('import sys\nsys.stdout.buffer.write(b"\\xe9\\n")').toString('base64'),
            expected_output: Buffer.from('\ufffd\n').toString('base64') }, '?wait=true&base64_encoded=true');
        assert.equal(r64.status, 201, r64.text);
        assert.equal(r64.body.status.id, 3, r64.text);
        assert.equal(r64.body.stdout, '77+9Cg==\n');
    });
    await check('stdin is closed once written: a program reading to EOF ends', async () => {
        const r = await submit({ language_id: 71, source_code: 'import sys\nprint(len(sys.stdin.read()))',
            stdin: 'abc', wall_time_limit: 5 }, '?wait=true');
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body.status.id, 3, r.text);
        assert.equal(r.body.stdout, '3\n');
        const none = await submit({ language_id: 93, source_code: 'process.stdin.resume(); process.stdin.on("end", () => console.log("eof"))',
            wall_time_limit: 5 }, '?wait=true');
        assert.equal(none.status, 201, none.text);
        assert.equal(none.body.status.id, 3, none.text);
        assert.equal(none.body.stdout, 'eof\n');
    });
    await check('422: limits past /config_info\'s maxima', async () => {
        const r = await submit({ language_id: 71, source_code: 'print(1)', memory_limit: 1e300, cpu_time_limit: 1e300 }, '');
        assert.equal(r.status, 422, r.text);
        assert.deepEqual(r.body.memory_limit, ['must be less than or equal to 131072']);
        assert.deepEqual(r.body.cpu_time_limit, ['must be less than or equal to 10.0']);
    });
} finally {
    child.kill('SIGTERM');
}
if (failures > 0) {
    console.log(`${failures} check(s) failed; the gateway's log:`);
    console.log(fs.readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n'));
    fs.rmSync(logFile, { force: true });
    process.exit(1);
}
fs.rmSync(logFile, { force: true });
console.log('all Judge0 checks passed');
