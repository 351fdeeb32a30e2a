// piston_fixtures.test.mjs - Piston v2's documented requests and answers
// (tests/piston/fixtures/*.json, recorded from engineer-man/piston's readme
// and docs/api-v2.md) sent to sce-gateway, against the ctest fixture
// `stack` (the gateway's URL is in $SCE_TEST_STACK_ENV).  Each answer must
// have the documented status and shape (the same keys, each value of the
// documented JSON type; in a list, each item shaped like one documented
// item), and the values a fixture names ("values": equal, "contains": list
// members, "matches": a regular expression, "same": two paths equal) must
// match: those that are deterministic on sce.
//
//   node tests/piston/piston_fixtures.test.mjs   (SCE_TEST_STACK_ENV or SCE_GATEWAY set)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayUrl, runTests } from './harness.mjs';

const GATEWAY = gatewayUrl();
const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

const typeOf = v => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

// The documented value's shape must be the actual's: same keys, same types.
function sameShape(doc, act, where) {
    assert.equal(typeOf(act), typeOf(doc), `${where}: type`);
    if (Array.isArray(doc)) {
        if (doc.length === 0 || typeof doc[0] !== 'object') return;
        act.forEach((item, i) => {
            const fits = doc.filter(d => {
                try { sameShape(d, item, ''); return true; } catch { return false; }
            });
            assert.ok(fits.length > 0, `${where}[${i}]: ${JSON.stringify(item)} is shaped like no documented item`);
        });
    } else if (typeOf(doc) === 'object') {
        assert.deepEqual(Object.keys(act).sort(), Object.keys(doc).sort(), `${where}: keys`);
        for (const k of Object.keys(doc)) sameShape(doc[k], act[k], `${where}.${k}`);
    }
}

// "run.code", "[language=javascript].runtime": the value at that path.
function at(v, p) {
    for (const part of p.split('.')) {
        const m = /^\[(\w+)=(.*)\]$/.exec(part);
        if (m) {
            assert.ok(Array.isArray(v), `${p}: not a list`);
            v = v.find(x => String(x?.[m[1]]) === m[2]);
            assert.ok(v !== undefined, `${p}: no item with ${m[1]}=${m[2]}`);
        } else {
            v = v?.[part];
        }
    }
    return v;
}

async function send(req) {
    const res = await fetch(GATEWAY + req.path, {
        method: req.method,
        headers: req.body ? { 'Content-Type': 'application/json' } : {},
        body: req.body ? JSON.stringify(req.body) : undefined,
    });
    return { status: res.status, body: await res.json() };
}

const tests = {};
for (const file of fs.readdirSync(DIR).filter(f => f.endsWith('.json')).sort()) {
    const fx = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
    tests[file] = async () => {
        const got = await send(fx.request);
        const shown = JSON.stringify(got.body);
        assert.equal(got.status, fx.response.status, `status (body ${shown})`);
        sameShape(fx.response.body, got.body, 'body');
        for (const [p, want] of Object.entries(fx.values ?? {}))
            assert.deepEqual(at(got.body, p), want, `${p} (body ${shown})`);
        for (const [p, want] of Object.entries(fx.contains ?? {}))
            for (const item of want) assert.ok(at(got.body, p).includes(item), `${p} has ${item}`);
        for (const [p, re] of Object.entries(fx.matches ?? {}))
            assert.match(at(got.body, p), new RegExp(re), `${p} (body ${shown})`);
        for (const [a, b] of fx.same ?? []) assert.equal(at(got.body, a), at(got.body, b), `${a} = ${b}`);
    };
}
await runTests(tests);
