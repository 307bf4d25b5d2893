/**
 * The environment every test runs the CLI in: the runner's own, without the
 * STATESYNC_* variables and FORCE_COLOR a developer's shell may have set (they
 * would change what the CLI does), with NO_COLOR=1, then `extra` on top.
 */
export function cliEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of Object.keys(env)) if (name.startsWith('STATESYNC_') || name === 'FORCE_COLOR') delete env[name];
  return Object.assign(env, extra);
}
