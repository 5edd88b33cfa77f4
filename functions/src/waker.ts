// In-process wake-up for held claims (Node entry only): a hint, never a decision. It also counts the
// claims waiting on it, so the claim loop can re-check the database less often as more are held.
import { EventEmitter } from 'node:events';
import type { Waker } from './lib/http.ts';

export function createWaker(): Waker {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  let waiting = 0;
  return {
    notify(nodeId) {
      bus.emit(`n${nodeId}`);
      return Promise.resolve();
    },
    wait(nodeId, ms) {
      waiting++;
      return new Promise((resolve) => {
        const done = (poked: boolean) => {
          waiting--;
          clearTimeout(timer);
          bus.off(`n${nodeId}`, onPoke);
          resolve(poked);
        };
        const onPoke = () => done(true);
        const timer = setTimeout(() => done(false), ms);
        bus.once(`n${nodeId}`, onPoke);
      });
    },
    waiting: () => waiting,
  };
}
