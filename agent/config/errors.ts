/** One problem in a configuration source, located as precisely as the source allows. */
export interface ConfigIssue {
  /** File path, or a pseudo-source such as `env:SLING_MQTT_URL`. */
  source: string;
  /** Dotted key path inside the document, e.g. `mqtt.embedded.port`; empty for the root. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where =
    issue.line === undefined ? issue.source : `${issue.source}:${issue.line}:${issue.column ?? 1}`;
  const key = issue.path === '' ? '(root)' : issue.path;
  return `${where}: ${key}: ${issue.message}`;
}
