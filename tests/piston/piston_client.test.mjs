// piston_client.test.mjs - sce-gateway's Piston v2 REST routes driven by
// npm's `piston-client` (unchanged; it sends its JSON with no
// Content-Type, which node-fetch labels text/plain), against the ctest
// fixture `stack` (the gateway's URL is in $SCE_TEST_STACK_ENV):
// runtimes(), a Python run, stdin and args, stdin read to EOF (Python
// and Node.js), an unknown language, a Node.js
// run, stdout and stderr interleaved in `output` in the order written, and
// a timeout (status TO, SIGKILL), and a client that hangs up mid-run (its
// run cancelled, as the history then says).
//
//   node tests/piston/piston_client.test.mjs   (SCE_TEST_STACK_ENV or SCE_GATEWAY set)
import assert from 'node:assert/strict';
import piston from 'piston-client';
import { gatewayUrl, runTests } from './harness.mjs';

const client = piston({ server: gatewayUrl() });

const tests = {
    async runtimes() {
        const rts = await client.runtimes();
        assert.ok(Array.isArray(rts), JSON.stringify(rts));
        const py = rts.find(r => r.language === 'python');
        const js = rts.find(r => r.language === 'javascript');
        assert.ok(py && js, JSON.stringify(rts));
        assert.match(py.version, /^\d+\.\d+\.\d+$/);
        const minor = py.version.split('.').slice(0, 2).join('.');
        assert.deepEqual(py.aliases.slice().sort(), ['py', 'py3', 'python3', `python${minor}`].sort());
        assert.equal(py.runtime, undefined);
        assert.equal(js.runtime, 'node');
        assert.deepEqual(js.aliases.slice().sort(), ['js', 'node', 'node-javascript', 'node-js']);
    },

    async python() {
        const r = await client.execute('python', 'print(1)');
        const py = (await client.runtimes()).find(x => x.language === 'python');
        assert.equal(r.language, 'python', JSON.stringify(r));
        assert.equal(r.version, py.version);
        assert.deepEqual(
            { stdout: r.run.stdout, stderr: r.run.stderr, output: r.run.output, code: r.run.code,
              signal: r.run.signal, message: r.run.message, status: r.run.status },
            { stdout: '1\n', stderr: '', output: '1\n', code: 0, signal: null, message: null,
              status: null });
        for (const k of ['cpu_time', 'wall_time', 'memory']) assert.equal(typeof r.run[k], 'number', k);
        assert.ok(r.run.wall_time > 0);
    },

    async stdinAndArgs() {
        const code = 'import sys\nprint("hello", input())\nprint(sys.argv[1:])\n';
        const r = await client.execute('python', code, { stdin: 'Ada', args: ['x', 'y z'] });
        assert.equal(r.run.stdout, "hello Ada\n['x', 'y z']\n", JSON.stringify(r));
        assert.equal(r.run.code, 0);
    },

    async stdinToEof() {
        // Piston gives all of stdin at once: a program that reads it to
        // EOF ends (no TO).  Piston adds a newline to a stdin without
        // one: "abc" is read as 4 characters.
        let r = await client.execute('python', 'import sys\nprint(len(sys.stdin.read()))\n',
                                     { stdin: 'abc' });
        assert.equal(r.run.stdout, '4\n', JSON.stringify(r));
        assert.equal(r.run.code, 0);
        assert.equal(r.run.status, null);
        r = await client.execute('javascript',
                                 "console.log(require('fs').readFileSync(0, 'utf8').length)",
                                 { stdin: 'ab\ncd\n' });
        assert.equal(r.run.stdout, '6\n', JSON.stringify(r));
        assert.equal(r.run.code, 0);
        assert.equal(r.run.status, null);
    },

    async unknownLanguage() {
        // No runtime of that name: the client finds no version to send.
        let r = await client.execute('cobol', 'DISPLAY "HI".');
        assert.deepEqual(r, { message: 'version is required as a string' });
        r = await client.execute('cobol', 'DISPLAY "HI".', { version: '1.0.0' });
        assert.deepEqual(r, { message: 'cobol-1.0.0 runtime is unknown' });
        r = await client.execute('python', 'print(1)', { version: '2.7' });
        assert.deepEqual(r, { message: 'python-2.7 runtime is unknown' });
    },

    async node() {
        // piston-client's default args are ["1", "2", "3"].
        const r = await client.execute('javascript', 'console.log(process.argv.slice(2).join(","))');
        assert.equal(r.language, 'javascript', JSON.stringify(r));
        assert.match(r.version, /^\d+\.\d+\.\d+$/);
        assert.equal(r.run.stdout, '1,2,3\n');
        assert.equal(r.run.code, 0);
        const err = await client.execute('javascript', 'process.exit(3)');
        assert.equal(err.run.code, 3, JSON.stringify(err));
        assert.equal(err.run.status, 'RE');
        assert.equal(err.run.message, 'Exited with error status 3');
    },

    async interleaved() {
        // 200 ms apart: writes to the two streams closer than ~100 ms may
        // reach sce in another order (the engine copies stdout and stderr
        // separately); the gateway keeps the order the chunks came in.
        const code = 'import sys, time\n' +
            'for i in range(3):\n' +
            '    print("out", i, flush=True)\n' +
            '    time.sleep(0.2)\n' +
            '    print("err", i, file=sys.stderr, flush=True)\n' +
            '    time.sleep(0.2)\n';
        const r = await client.execute('python', code);
        assert.equal(r.run.stdout, 'out 0\nout 1\nout 2\n', JSON.stringify(r));
        assert.equal(r.run.stderr, 'err 0\nerr 1\nerr 2\n');
        assert.equal(r.run.output, 'out 0\nerr 0\nout 1\nerr 1\nout 2\nerr 2\n');
    },

    async signal() {
        const r = await client.execute('python', 'import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n');
        assert.equal(r.run.code, null, JSON.stringify(r));
        assert.equal(r.run.signal, 'SIGSEGV');
        assert.equal(r.run.status, 'SG');
    },

    async timeout() {
        const t0 = Date.now();
        const r = await client.execute('python', 'import time\nprint("start", flush=True)\ntime.sleep(30)\n',
                                       { runTimeout: 2000 });
        assert.equal(r.run.status, 'TO', JSON.stringify(r));
        assert.equal(r.run.signal, 'SIGKILL');
        assert.equal(r.run.code, null);
        assert.ok(Date.now() - t0 < 15000, 'the timeout held');
    },

    async hangUpCancels() {
        // Not through piston-client: it cannot abort a request.  The run
        // is marked by a unique string so its history entry can be found.
        const mark = `hang-up-${process.pid}-${Date.now()}`;
        const body = JSON.stringify({ language: 'python', version: '*', run_timeout: 10000,
            files: [{ content: `import time\nprint(${JSON.stringify(mark)}, flush=True)\ntime.sleep(9)\n` }] });
        const ac = new AbortController();
        const t0 = Date.now();
        const req = fetch(`${gatewayUrl()}/api/v2/execute`, { method: 'POST', body, signal: ac.signal });
        setTimeout(() => ac.abort(), 1500);
        await assert.rejects(req);
        let entry;
        while (Date.now() - t0 < 8000 && !entry) {
            await new Promise(r => setTimeout(r, 250));
            const h = await (await fetch(`${gatewayUrl()}/history?limit=20`)).json();
            entry = h.entries.find(e => e.code.includes(mark));
        }
        assert.ok(entry, 'the run reached the history within 8 s of its start (not its 9 s sleep)');
        assert.equal(entry.status, 'cancelled', JSON.stringify(entry));
    },
};

await runTests(tests);
