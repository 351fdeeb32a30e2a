// harness.mjs - what the Piston tests share: the gateway they talk to
// ($SCE_GATEWAY, else SCE_GATEWAY= in the ctest fixture's env file,
// $SCE_TEST_STACK_ENV), and the loop that runs named tests in order,
// prints ok/FAIL per test and exits 1 if any failed.
import fs from 'node:fs';

export function gatewayUrl() {
    if (process.env.SCE_GATEWAY) return process.env.SCE_GATEWAY;
    const file = process.env.SCE_TEST_STACK_ENV;
    if (!file || !fs.existsSync(file)) throw new Error('no stack: set SCE_TEST_STACK_ENV or SCE_GATEWAY');
    const m = /^SCE_GATEWAY=(.+)$/m.exec(fs.readFileSync(file, 'utf8'));
    if (!m) throw new Error(`${file} names no gateway`);
    return m[1].trim();
}

// tests: {name: async function}.  Never returns.
export async function runTests(tests) {
    let failed = 0;
    for (const [name, fn] of Object.entries(tests)) {
        const t0 = Date.now();
        try {
            await fn();
            console.log(`ok   ${name} (${Date.now() - t0} ms)`);
        } catch (e) {
            failed++;
            console.log(`FAIL ${name}: ${e.stack || e}`);
        }
    }
    console.log(failed ? `${failed} failed` : 'all passed');
    process.exit(failed ? 1 : 0);
}
