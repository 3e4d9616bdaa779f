/**
 * Calls `fn` at most once per `intervalMs`, always with the latest state: a burst of changes produces one
 * call now and one at the end of the interval (trailing), never a backlog.
 */
export function throttle(
  fn: () => void,
  intervalMs: number,
): { trigger(): void; flush(): void; cancel(): void } {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  return {
    trigger() {
      if (timer) return;
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) run();
      else timer = setTimeout(run, wait);
    },
    flush() {
      if (timer) {
        clearTimeout(timer);
        run();
      }
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
