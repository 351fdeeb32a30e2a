// cpu_burn.js - two busy worker threads; prints "CPU_SECONDS WALL_SECONDS
// WORK_RATIO" for a window of 1.5 s in which both burn (see cpu_burn.py:
// the ratio is their work over what the first worker did alone in 0.5 s
// before, after 0.3 s of warm-up, per second: the same code either way).
const { Worker } = require('worker_threads');
const N = 2;
const done = new Int32Array(new SharedArrayBuffer(4 * N));
const code = `
  const { parentPort, workerData } = require('worker_threads');
  const done = new Int32Array(workerData.sab);
  const BATCH = 200000;
  const batch = () => { for (let i = 0; i < BATCH; i++); };
  parentPort.on('message', (m) => {
    if (m === 'alone') {
      let end = Date.now() + 300;
      while (Date.now() < end) batch();
      let n = 0;
      end = Date.now() + 500;
      while (Date.now() < end) { batch(); n++; }
      parentPort.postMessage(n);
      return;
    }
    for (let n = 1; ; n++) { batch(); Atomics.store(done, workerData.i, n); }
  });
  parentPort.postMessage('ready');`;
const workers = [];
let ready = 0;
let alone = 0;
const go = () => {
  const t0 = Date.now();
  const u0 = process.cpuUsage();
  for (const x of workers) x.postMessage('go');
  setTimeout(() => {
    const u = process.cpuUsage(u0);
    const wall = (Date.now() - t0) / 1e3;
    let work = 0;
    for (let k = 0; k < N; k++) work += Atomics.load(done, k);
    console.log(((u.user + u.system) / 1e6).toFixed(3), wall.toFixed(3),
                (work / wall / alone).toFixed(3));
    process.exit(0);
  }, 1500);
};
for (let i = 0; i < N; i++) {
  const w = new Worker(code, { eval: true, workerData: { sab: done.buffer, i } });
  workers.push(w);
  w.on('message', (m) => {
    if (m !== 'ready') {
      alone = m / 0.5;
      go();
    } else if (++ready === N) {
      workers[0].postMessage('alone');
    }
  });
}
