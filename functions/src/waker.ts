// In-process wake-up for held claims (Node entry only): a hint, never a decision. It also knows the
// claims waiting on it (how many, and whose), so the claim loop can re-check the database less often
// as more are held, and the due-job timer schedules for the nodes whose claims wait (queue.ts).
import { EventEmitter } from 'node:events';
import type { Waker } from './lib/http.ts';

export function createWaker(): Waker & { held(): number[] } {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  let waiting = 0;
  /** node → its claims waiting now (a node may hold more than one claim) */
  const byNode = new Map<number, number>();
  return {
    notify(nodeId) {
      bus.emit(`n${nodeId}`);
      return Promise.resolve();
    },
    wait(nodeId, ms) {
      waiting++;
      byNode.set(nodeId, (byNode.get(nodeId) ?? 0) + 1);
      return new Promise((resolve) => {
        const done = (poked: boolean) => {
          waiting--;
          const left = byNode.get(nodeId)! - 1;
          if (left) byNode.set(nodeId, left);
          else byNode.delete(nodeId);
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
    held: () => [...byNode.keys()],
  };
}
