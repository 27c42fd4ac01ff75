// Preloaded (NODE_OPTIONS=--require) into a `kubiya worker start` under test, and inherited by everything it
// starts, where it does nothing: in the supervisor process of queue $FAULT_QUEUE (the pid its worker.pid
// names), once the file $FAULT_TRIGGER exists, it throws an uncaught exception (FAULT=throw) or leaves a
// promise rejected (FAULT=reject), as a bug in the supervisor would. No test hook in the product.
const fs = require('node:fs');
const path = require('node:path');

const { FAULT, FAULT_QUEUE, FAULT_TRIGGER, HOME } = process.env;
if (FAULT && FAULT_QUEUE && FAULT_TRIGGER && process.argv.includes('worker')) {
  const pidFile = path.join(HOME, '.kubiya/workers', FAULT_QUEUE, 'worker.pid');
  const timer = setInterval(() => {
    if (!fs.existsSync(FAULT_TRIGGER)) return;
    let info;
    try {
      info = JSON.parse(fs.readFileSync(pidFile, 'utf8'));
    } catch {
      return;
    }
    if (info.supervisor_pid !== process.pid) return;
    clearInterval(timer);
    if (FAULT === 'reject') Promise.reject(new Error('injected fault'));
    else throw new Error('injected fault');
  }, 50);
  timer.unref();
}
