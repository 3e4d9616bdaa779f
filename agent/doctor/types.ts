/** One line of the doctor's table. `warn` informs (e.g. no GPIO chip on a PC); only `fail` fails the run. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail, as commands a person can run. */
  fix?: string;
}

/** The account whose access to devices is judged: the current process, or the service user (`--user sling`). */
export interface Account {
  name: string;
  uid: number;
  gids: number[];
}
