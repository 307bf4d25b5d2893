import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** The asset name under which build:binary embeds better-sqlite3's native addon. */
export const ADDON_ASSET = 'better_sqlite3.node';

let binding: object | null | undefined;

interface SeaModule {
  isSea(): boolean;
  getAsset(name: string): ArrayBuffer;
}

/**
 * Opens a better-sqlite3 database (a file, or a database image in a Buffer). Inside the single executable the native
 * addon is not on disk next to any node_modules: it is embedded as an asset,
 * written once to a per-user cache named by its content hash, loaded with
 * process.dlopen and handed to better-sqlite3 as its `nativeBinding`.
 * Outside the executable normal module resolution finds it.
 */
export function openSqlite(path: string | Buffer, options: Database.Options = {}): Database.Database {
  const native = nativeBinding();
  return new Database(path, native === null ? options : { ...options, nativeBinding: native as unknown as string });
}

function nativeBinding(): object | null {
  if (binding !== undefined) return binding;
  binding = null;
  let sea: SeaModule;
  try {
    // node:sea exists from Node 20.12; plain `node` runs report isSea() === false.
    sea = createRequire(__filenameOrUrl())('node:sea') as SeaModule;
  } catch {
    return binding;
  }
  if (!sea.isSea()) return binding;
  const bytes = Buffer.from(sea.getAsset(ADDON_ASSET));
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const file = cachedAddon(bytes, `better_sqlite3-${hash}.node`);
  const module = { exports: {} as object };
  process.dlopen(module, file);
  binding = module.exports;
  return binding;
}

/** Writes the addon once per content hash (temporary file, then rename); the cache dir, else the temp dir. */
function cachedAddon(bytes: Buffer, name: string): string {
  const candidates = [join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'statesync'), join(tmpdir(), `statesync-${process.getuid?.() ?? 'user'}`)];
  let lastError: unknown = null;
  for (const dir of candidates) {
    const file = join(dir, name);
    try {
      if (existsSync(file)) return file;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, bytes, { mode: 0o700 });
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
