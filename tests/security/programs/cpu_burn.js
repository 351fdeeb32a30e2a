// cpu_burn.js - four busy worker threads; prints "CPU_SECONDS WALL_SECONDS"
// for a window of 1.5 s in which all of them burn (see cpu_burn.py).
const { Worker } = require('worker_threads');
const code = `
  const { parentPort } = require('worker_threads');
  parentPort.once('message', () => { for (;;) {} });
  parentPort.postMessage('ready');`;
const workers = [];
let ready = 0;
for (let i = 0; i < 4; i++) {
  const w = new Worker(code, { eval: true });
  workers.push(w);
  w.on('message', () => {
    if (++ready < workers.length || workers.length < 4) return;
    const t0 = Date.now();
    const u0 = process.cpuUsage();
    for (const x of workers) x.postMessage('go');
    setTimeout(() => {
      const u = process.cpuUsage(u0);
      console.log(((u.user + u.system) / 1e6).toFixed(3), ((Date.now() - t0) / 1e3).toFixed(3));
      process.exit(0);
    }, 1500);
  });
}
