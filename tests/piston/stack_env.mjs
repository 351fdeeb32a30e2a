// stack_env.mjs - the gateway the Piston tests talk to: $SCE_GATEWAY, else
// SCE_GATEWAY= in the ctest fixture's env file ($SCE_TEST_STACK_ENV).
import fs from 'node:fs';

export function gatewayUrl() {
    if (process.env.SCE_GATEWAY) return process.env.SCE_GATEWAY;
    const file = process.env.SCE_TEST_STACK_ENV;
    if (!file || !fs.existsSync(file)) throw new Error('no stack: set SCE_TEST_STACK_ENV or SCE_GATEWAY');
    const m = /^SCE_GATEWAY=(.+)$/m.exec(fs.readFileSync(file, 'utf8'));
    if (!m) throw new Error(`${file} names no gateway`);
    return m[1].trim();
}
