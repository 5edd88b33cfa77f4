// In-process wake-up for held claims (Node entry only): a hint, never a decision.
import { EventEmitter } from 'node:events';
import type { Waker } from './lib/http.ts';

export function createWaker(): Waker {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  return {
    notify(nodeId) {
      bus.emit(`n${nodeId}`);
    },
    wait(nodeId, ms) {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          bus.off(`n${nodeId}`, done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        bus.once(`n${nodeId}`, done);
      });
    },
  };
}
