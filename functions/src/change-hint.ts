// In-process hint that an event row may have changed (Node entry only): wakes the event streams of
// this process at once instead of at their next look (routes/event-stream.ts). A hint, never a
// decision: what changed is always read from the database.
import { EventEmitter } from 'node:events';
import type { ChangeHint } from './lib/http.ts';

export function createChangeHint(): ChangeHint {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  let closed = false;
  return {
    notify() {
      bus.emit('change');
    },
    wait(ms) {
      if (closed) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          bus.off('change', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        bus.once('change', done);
      });
    },
    close() {
      closed = true;
      bus.emit('change');
    },
    get closed() {
      return closed;
    },
  };
}
