/** Where `mgw` looks for things when not told. */
export function defaultConfigPath(): string {
  return process.env['MGW_CONFIG'] ?? 'config/gateway.yaml';
}

export function defaultUrl(): string {
  return process.env['MGW_URL'] ?? 'http://127.0.0.1:8000';
}
