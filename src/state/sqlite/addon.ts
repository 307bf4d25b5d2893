import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

/** The asset names under which build:binary embeds better-sqlite3's native addon, and its hash (hex). */
export const ADDON_ASSET = 'better_sqlite3.node';
const ADDON_HASH_ASSET = 'better_sqlite3.node.sha256';

/** Put in by the bundler (scripts/bundle.mjs), absent when run from source: the better-sqlite3 whose JavaScript the bundle holds. */
declare const STATESYNC_SQLITE_VERSION: string | undefined;

interface Sqlite {
  readonly Database: typeof Database;
  /** better-sqlite3's `nativeBinding`: the addon, or its path; undefined: the package finds its own. */
  readonly binding: object | string | undefined;
}

let sqlite: Sqlite | undefined;

interface SeaModule {
  isSea(): boolean;
  getAsset(name: string): ArrayBuffer;
  getAsset(name: string, encoding: 'utf8'): string;
}

/** Opens a better-sqlite3 database (a file, or a database image in a Buffer). */
export function openSqlite(path: string | Buffer, options: Database.Options = {}): Database.Database {
  sqlite ??= loadSqlite();
  const { binding } = sqlite;
  return new sqlite.Database(path, binding === undefined ? options : { ...options, nativeBinding: binding as string });
}

/**
 * Where the native addon comes from. Inside the single executable it is not
 * on disk next to any node_modules: it is embedded as an asset, written once
 * to a per-user cache named by its content hash, and loaded with process.dlopen.
 * The npm bundle holds better-sqlite3's JavaScript (loading the package's
 * dozen modules was ~15 ms of every start) and takes the installed package's
 * addon, found where its build puts it, without the `bindings` package's
 * search; when the installed package is another version, or its addon is
 * elsewhere, the installed package is used as it is. Run from source, the
 * package finds its addon itself.
 */
function loadSqlite(): Sqlite {
  const require = createRequire(__filenameOrUrl());
  const sea = seaModule(require);
  if (sea?.isSea() === true) return { Database, binding: embeddedAddon(sea) };
  if (typeof STATESYNC_SQLITE_VERSION !== 'string') return { Database, binding: undefined };
  const dir = dirname(require.resolve('better-sqlite3/package.json'));
  const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  const addon = join(dir, 'build', 'Release', 'better_sqlite3.node');
  if (installed.version === STATESYNC_SQLITE_VERSION && existsSync(addon)) return { Database, binding: addon };
  return { Database: require('better-sqlite3') as typeof Database, binding: undefined };
}

/** node:sea exists from Node 20.12; plain `node` runs report isSea() === false. */
function seaModule(require: NodeJS.Require): SeaModule | null {
  try {
    return require('node:sea') as SeaModule;
  } catch {
    return null;
  }
}

function embeddedAddon(sea: SeaModule): object {
  // Hashed by the build, which saves hashing ~2 MB at every start; the bytes are copied out only to write them.
  const file = cachedAddon(() => Buffer.from(sea.getAsset(ADDON_ASSET)), `better_sqlite3-${sea.getAsset(ADDON_HASH_ASSET, 'utf8')}.node`);
  const module = { exports: {} as object };
  process.dlopen(module, file);
  return module.exports;
}

/** Writes the addon once per content hash (temporary file, then rename); the cache dir, else the temp dir. */
function cachedAddon(bytes: () => Buffer, name: string): string {
  const candidates = [join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'statesync'), join(tmpdir(), `statesync-${process.getuid?.() ?? 'user'}`)];
  let lastError: unknown = null;
  for (const dir of candidates) {
    const file = join(dir, name);
    try {
      if (existsSync(file)) return file;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, bytes(), { mode: 0o700 });
      renameSync(partial, file);
      return file;
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`cannot write the SQLite addon to a cache directory: ${(lastError as Error).message}`);
}

/** A module location for createRequire in both the ESM build and the CommonJS bundle. */
function __filenameOrUrl(): string {
  return typeof __filename === 'string' ? __filename : import.meta.url;
}
