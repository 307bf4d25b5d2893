// The word-count table's hash table, compiled to WebAssembly (scripts/build-wasm.mjs):
// one instance per table, the instance's memory holds the whole table. V8 runs this
// loop about 1.6x as fast as the same loop in JavaScript (no bounds check per byte,
// no tier-up), which is most of what --threads can gain on a machine with few cores.
//
// Memory, each region only grows: [stack and these globals][input][slots][arena].
// - input: bytes JavaScript copies in for the next call (words, records or a delta).
// - slots: an open-addressing index; a slot holds a record's 8-byte unit + 1, 0 = empty.
// - arena: records in first-seen order, 8-byte aligned: count since the last settle
//   (f64), key length (i32), key hash (i32), then the key's UTF-8 bytes. JavaScript
//   reads them in place (word-count-table.ts), so this layout is shared with it.
#include <stdint.h>

#define KEY 16
#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 16777619u
#define PAGE 65536u
// The most a 32-bit memory can grow to: 65535 pages.
#define MEMORY_LIMIT (0x100000000ull - PAGE)

typedef struct {
  double count;
  int32_t length;
  uint32_t hash;
} Record;

extern unsigned char __heap_base;

static uint32_t input_at, input_cap;
static uint32_t slots_at, slot_count;
static uint32_t arena_at, arena_cap, used, entries;
static uint32_t line_count;

static inline uint32_t align(uint64_t at, uint32_t to) {
  uint64_t aligned = (at + to - 1) & ~(uint64_t)(to - 1);
  if (aligned > 0xffffffffu) __builtin_trap();
  return (uint32_t)aligned;
}

static inline uint32_t *slots(void) { return (uint32_t *)slots_at; }
static inline unsigned char *arena(void) { return (unsigned char *)arena_at; }
static inline Record *record(uint32_t unit) { return (Record *)(arena_at + unit * 8); }
static inline uint32_t record_bytes(uint32_t length) { return (KEY + length + 7) & ~7u; }

static void reindex(void) {
  uint32_t *s = slots();
  uint32_t mask = slot_count - 1;
  __builtin_memset(s, 0, slot_count * 4);
  for (uint32_t at = 0; at < used; at += record_bytes(record(at / 8)->length)) {
    uint32_t idx = record(at / 8)->hash & mask;
    while (s[idx] != 0) idx = (idx + 1) & mask;
    s[idx] = at / 8 + 1;
  }
}

// Moves the regions to fit the new sizes; a new slot count rebuilds the index from the arena.
static void relayout(uint32_t new_input_cap, uint32_t new_slot_count, uint32_t new_arena_cap) {
  uint32_t new_slots_at = align((uint64_t)input_at + new_input_cap, 16);
  uint32_t new_arena_at = align((uint64_t)new_slots_at + (uint64_t)new_slot_count * 4, 16);
  uint32_t end = align((uint64_t)new_arena_at + new_arena_cap, PAGE);
  uint32_t have = __builtin_wasm_memory_size(0);
  if (end / PAGE > have && __builtin_wasm_memory_grow(0, end / PAGE - have) < 0) __builtin_trap();
  // The arena is highest and moves up at least as far as the slots, so moving it first overwrites nothing.
  // (Only the arena's capacity grew: nothing moves.)
  if (new_arena_at != arena_at) __builtin_memmove((void *)new_arena_at, (void *)arena_at, used);
  int rebuild = new_slot_count != slot_count;
  if (!rebuild && new_slots_at != slots_at) __builtin_memmove((void *)new_slots_at, (void *)slots_at, slot_count * 4);
  input_cap = new_input_cap;
  slots_at = new_slots_at;
  slot_count = new_slot_count;
  arena_at = new_arena_at;
  arena_cap = new_arena_cap;
  if (rebuild) reindex();
}

static void insert(uint32_t idx, const unsigned char *key, uint32_t length, uint32_t hash, double n) {
  uint32_t bytes = record_bytes(length);
  if (used + (uint64_t)bytes > arena_cap) {
    uint64_t want = (uint64_t)arena_cap * 2;
    // Doubling may pass the 4 GiB a memory can hold while what is needed does not: take what is left.
    uint64_t room = MEMORY_LIMIT - arena_at;
    if (want > room) want = room;
    if (want < (uint64_t)used + bytes) want = (uint64_t)used + bytes;
    if (want > room) __builtin_trap();
    // `key` may point into the input region, which a relayout leaves where it is.
    relayout(input_cap, slot_count, (uint32_t)want);
  }
  Record *r = record(used / 8);
  r->count = n;
  r->length = (int32_t)length;
  r->hash = hash;
  __builtin_memcpy(arena() + used + KEY, key, length);
  slots()[idx] = used / 8 + 1;
  used += bytes;
  entries++;
  // Keep the load factor at or below one half so probes stay short.
  if (entries * 2 > slot_count) relayout(input_cap, slot_count * 2, arena_cap);
}

// No libc here, and memcmp has no WebAssembly instruction.
static inline int same_bytes(const unsigned char *a, const unsigned char *b, uint32_t length) {
  for (uint32_t k = 0; k < length; k++)
    if (a[k] != b[k]) return 0;
  return 1;
}

static inline void count_key(const unsigned char *key, uint32_t length, uint32_t hash, double n) {
  uint32_t *s = slots();
  uint32_t mask = slot_count - 1;
  uint32_t idx = hash & mask;
  for (;;) {
    uint32_t ref = s[idx];
    if (ref == 0) break;
    Record *r = record(ref - 1);
    if (r->hash == hash && (uint32_t)r->length == length && same_bytes((const unsigned char *)r + KEY, key, length)) {
      r->count += n;
      return;
    }
    idx = (idx + 1) & mask;
  }
  insert(idx, key, length, hash, n);
}

// ASCII whitespace, as awk and `wc -w` split words; most bytes of a word are past 32 and fail the first test.
static inline int is_space(unsigned char c) { return c <= 32 && (c == 32 || (c >= 9 && c <= 13)); }

/** Sizes a new table for about `capacity` keys. */
__attribute__((export_name("init"))) void init(uint32_t capacity) {
  input_at = align((uint32_t)&__heap_base, 16);
  uint32_t want = 16;
  while (want < capacity * 2) want *= 2;
  relayout(0, want, capacity * 24);
}

/** Makes room for `length` input bytes (and a sentinel after them); returns where they go. */
__attribute__((export_name("reserveInput"))) uint32_t reserve_input(uint32_t length) {
  if ((uint64_t)length + 8 > input_cap) {
    uint64_t want = PAGE;
    while (want < (uint64_t)length + 8) want *= 2;
    if (want > 0xffffffffu) __builtin_trap();
    relayout((uint32_t)want, slot_count, arena_cap);
  }
  return input_at;
}

/**
 * Counts the words of the `length` input bytes; returns how many, and leaves the
 * lines seen in lineCount(). A space written after the input ends the last word,
 * so the scan needs no bounds check.
 */
__attribute__((export_name("addWords"))) uint32_t add_words(uint32_t length) {
  unsigned char *in = (unsigned char *)input_at;
  in[length] = ' ';
  uint32_t words = 0, lines = 0, i = 0;
  while (i < length) {
    unsigned char c = in[i];
    if (is_space(c)) {
      lines += c == '\n';
      i++;
      continue;
    }
    uint32_t start = i;
    uint32_t h = FNV_OFFSET;
    do {
      h = (h ^ c) * FNV_PRIME;
      c = in[++i];
    } while (!is_space(c));
    count_key(in + start, i - start, h, 1);
    words++;
  }
  if (length > 0 && in[length - 1] != '\n') lines++;
  line_count = lines;
  return words;
}

/** Adds another table's records (`length` input bytes in the arena's layout) with their hashes as they are. */
__attribute__((export_name("addRecords"))) void add_records(uint32_t length) {
  for (uint32_t at = 0; at < length;) {
    Record *r = (Record *)(input_at + at);
    if (r->count != 0) count_key((const unsigned char *)r + KEY, (uint32_t)r->length, r->hash, r->count);
    at += record_bytes((uint32_t)r->length);
  }
}

/**
 * Adds `size` counts whose keys are UTF-8 and NUL-separated: the input holds the
 * keys (`blob_length` bytes) and, at `counts_at` past the input's start, the counts
 * as f64. Returns how many keys the blob held, `size` unless it ended early.
 */
__attribute__((export_name("addEncoded"))) uint32_t add_encoded(uint32_t blob_length, uint32_t size, uint32_t counts_at) {
  const unsigned char *blob = (const unsigned char *)input_at;
  const double *counts = (const double *)(input_at + counts_at);
  uint32_t start = 0;
  for (uint32_t k = 0; k < size; k++) {
    uint32_t h = FNV_OFFSET;
    uint32_t end = start;
    for (; end < blob_length && blob[end] != 0; end++) h = (h ^ blob[end]) * FNV_PRIME;
    if (end == blob_length && k != size - 1) return k + 1;
    count_key(blob + start, end - start, h, counts[k]);
    start = end + 1;
  }
  return size;
}

__attribute__((export_name("lineCount"))) uint32_t get_line_count(void) { return line_count; }
__attribute__((export_name("arenaAt"))) uint32_t get_arena_at(void) { return arena_at; }
__attribute__((export_name("arenaUsed"))) uint32_t get_arena_used(void) { return used; }
__attribute__((export_name("entries"))) uint32_t get_entries(void) { return entries; }
