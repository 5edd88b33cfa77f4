// Bursts of event notices ($lib/live) cost one request at a time: a page's reload runs now, or
// once more after the run in progress, however many notices came meanwhile. `f` shows its own
// errors (the pages' loads do); a failed run does not stop the next.
export function coalesce(f: () => Promise<unknown>): () => void {
  let running = false;
  let again = false;
  const run = () => {
    if (running) return void (again = true);
    running = true;
    const done = () => {
      running = false;
      if (again) {
        again = false;
        run();
      }
    };
    f().then(done, done);
  };
  return run;
}
