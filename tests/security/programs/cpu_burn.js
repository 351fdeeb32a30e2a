// cpu_burn.js - two busy worker threads; prints "CPU_SECONDS WALL_SECONDS
// WORK_RATIO" for a window of 1.5 s in which both burn (see cpu_burn.py:
// the ratio is their work per second over what the first did per second
// alone right after the window, the other stopped; the same code either
// way, and its compilation long done).
const { Worker } = require('worker_threads');
const N = 2;
const done = new Int32Array(new SharedArrayBuffer(4 * N));
const code = `
  const { parentPort, workerData } = require('worker_threads');
  const done = new Int32Array(workerData.sab);
  const batch = () => { for (let i = 0; i < 200000; i++); };
  parentPort.once('message', () => {
    for (let n = 1; ; n++) { batch(); Atomics.store(done, workerData.i, n); }
  });
  parentPort.postMessage('ready');`;
const sum = () => { let s = 0; for (let k = 0; k < N; k++) s += Atomics.load(done, k); return s; };
const workers = [];
let ready = 0;
const go = () => {
  const t0 = Date.now();
  const u0 = process.cpuUsage();
  for (const x of workers) x.postMessage('go');
  setTimeout(async () => {
    const u = process.cpuUsage(u0);
    const wall = (Date.now() - t0) / 1e3;
    const work = sum();
    for (const x of workers.slice(1)) await x.terminate();
    setTimeout(() => {
      const a0 = Atomics.load(done, 0);
      const s0 = Date.now();
      setTimeout(() => {
        const alone = (Atomics.load(done, 0) - a0) / ((Date.now() - s0) / 1e3);
        console.log(((u.user + u.system) / 1e6).toFixed(3), wall.toFixed(3),
                    (work / wall / alone).toFixed(3));
        process.exit(0);
      }, 500);
    }, 200);
  }, 1500);
};
for (let i = 0; i < N; i++) {
  const w = new Worker(code, { eval: true, workerData: { sab: done.buffer, i } });
  workers.push(w);
  w.on('message', () => { if (++ready === N) go(); });
}
