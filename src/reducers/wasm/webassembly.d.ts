// The part of the WebAssembly JavaScript API the word-count kernel uses. The
// project's libs (ES2022, Node's types) leave it out; the DOM lib, which has it,
// would bring in a browser's globals.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
}
