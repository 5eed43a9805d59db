-- hvtrace trace store, schema version 2 (DESIGN.md §4). This file is the source of truth: the
-- writer (src/trace/store.ts) executes it verbatim on a new file, and `PRAGMA user_version`
-- carries the schema version. A reader refuses a trace whose user_version is newer than it
-- knows. Schema 2 added digests.events_hash and digests.kind_counts; a version 1 trace is still
-- read (its digests have neither, so a differ does not skip events through them).
--
-- Integers: every 64-bit value (pc, CSR values, addresses, causes) is stored as a signed 64-bit
-- INTEGER holding the two's-complement bits of the unsigned value (BigInt.asIntN(64, v));
-- readers convert back with BigInt.asUintN(64, v). In SQL use printf('0x%x', col) to see the
-- unsigned hex value (the views below add *_hex columns for addresses).
--
-- Compressed blobs (images.data, pages.data) are raw DEFLATE (node:zlib deflateRawSync,
-- RFC 1951, no zlib/gzip header).

PRAGMA user_version = 2;

-- Key/value metadata. Values are TEXT (JSON where structured) unless noted.
--   format          'hvtrace'
--   schema_version  '2'
--   hvtrace_version package version that wrote the trace
--   status          'recording' | 'complete' | 'aborted' (a 'recording' trace whose recorder is gone
--                   reads as 'truncated': the recorder was killed; its committed batches are a prefix)
--   recorder        JSON { pid, host, started } of the recording process (started: its start time in
--                   clock ticks, /proc/PID/stat), so that readers tell a live recording from a dead one
--   config          JSON, schemas/machine-config.schema.json (machine config with images by
--                   role/name/sha256/size, quantum, max-insns, digest/checkpoint intervals, input)
--   loaded_images   JSON array of { name, role, base, size, entry } as the machine loaded them
--   exit            JSON { kind, exitCode, message } (absent while recording / when aborted early)
--   counts          JSON { events, byKind: {kind: n}, instret: [per hart], totalInstret, steps: [per hart],
--                   vtime, consoleBytes, inputs, checkpoints, digests, pages }
--   console_sha256  hex sha256 of the whole console output
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value
);

-- The images the run was configured with (firmware, kernel, initrd, dtb), so that a trace is
-- self-contained for replay. data = raw-DEFLATE of the file bytes; sha256/size are of the
-- uncompressed bytes.
CREATE TABLE images (
  role   TEXT PRIMARY KEY,          -- 'firmware' | 'kernel' | 'initrd' | 'dtb'
  name   TEXT NOT NULL,             -- path given on the command line
  sha256 TEXT NOT NULL,
  size   INTEGER NOT NULL,
  data   BLOB NOT NULL
);

-- One row per event, in global order (seq from 0, no gaps). Column use per kind: see the table
-- in src/trace/event-kinds.ts and the views below. payload = msgpack (msgpackr) map, or NULL;
-- described by schemas/event-payload.schema.json.
CREATE TABLE events (
  seq     INTEGER PRIMARY KEY,
  vtime   INTEGER NOT NULL,         -- the hart's virtual time, in instructions
  hart    INTEGER NOT NULL,
  instret INTEGER NOT NULL,         -- the hart's retired instructions at the event
  pc      INTEGER NOT NULL,
  priv    INTEGER NOT NULL,         -- 0 U, 1 S, 3 M: the privilege the event happened in
  virt    INTEGER NOT NULL,         -- V (H extension): 1 in a guest (VS / VU)
  kind    TEXT NOT NULL,
  a       INTEGER,
  b       INTEGER,
  c       INTEGER,
  payload BLOB
);

-- UART input bytes as delivered to the guest (also present as 'input' events; seq = that
-- event's seq).
CREATE TABLE inputs (
  id    INTEGER PRIMARY KEY,
  vtime INTEGER NOT NULL,           -- scheduler time (round start) of the delivery
  byte  INTEGER NOT NULL,
  seq   INTEGER                     -- seq of the matching 'input' event
);

-- Input as it was queued in the scheduler (Scheduler.addInput(data, vtime), vtime already
-- clamped to the time of the call). Replay queues exactly these to reproduce the deliveries.
CREATE TABLE input_queue (
  id    INTEGER PRIMARY KEY,
  vtime INTEGER NOT NULL,
  data  BLOB NOT NULL
);

-- Guest console output in chunks (consecutive bytes from one hart, cut at event batches).
CREATE TABLE console (
  seq       INTEGER PRIMARY KEY,      -- chunk number from 0
  vtime     INTEGER NOT NULL,         -- virtual time of the chunk's first byte (writing hart)
  hart      INTEGER,                  -- hart that wrote it (NULL: not attributable)
  event_seq INTEGER NOT NULL,         -- seq of the next event at the chunk's first byte
  data      BLOB NOT NULL
);

-- Checkpoints, taken at scheduler round boundaries (every hart at `vtime`).
--   state = msgpack { machine: Machine.saveState(), scheduler: Scheduler.saveState() }
--   pages = the non-zero RAM pages: repeated 36-byte records [u32 LE page index][32-byte sha256];
--           pages not listed are all zero. Page contents live in `pages`.
CREATE TABLE checkpoints (
  id            INTEGER PRIMARY KEY,
  vtime         INTEGER NOT NULL,
  total_instret INTEGER NOT NULL,     -- instructions executed by all harts (Scheduler.totalInstructions)
  seq           INTEGER NOT NULL,     -- seq of the next event after the checkpoint
  console_seq   INTEGER NOT NULL,     -- console chunks written before it
  console_bytes INTEGER NOT NULL,     -- console bytes written before it
  state         BLOB NOT NULL,
  pages         BLOB NOT NULL
);

-- virtio-blk drives (src/devices/virtio-blk.ts; config machine.drives): the disk blocks of a
-- recording by (drive, layer, block index of 4 KiB); contents in `pages` (content-addressed,
-- compressed, shared with the checkpoints).
--   layer 0 = base: every block of the image the guest read, stored when first read (as the
--             recording goes: a truncated trace replays its prefix). A replay reads the image
--             from here and needs no file.
--   layer 1 = overlay: the blocks the guest wrote, as they were at the end of the recording
--             (copy-on-write: `record` never writes the image file).
CREATE TABLE disk_blocks (
  drive INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  block INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  PRIMARY KEY (drive, layer, block)
) WITHOUT ROWID;

-- Content-addressed 4 KiB RAM pages shared by all checkpoints: hash = sha256 of the 4096
-- uncompressed bytes; data = raw DEFLATE of them.
CREATE TABLE pages (
  hash BLOB PRIMARY KEY,
  data BLOB NOT NULL
) WITHOUT ROWID;

-- Periodic state digests (round boundaries; plus one at the end of a complete run, final = 1),
-- so a differ can find the first divergent window without re-running everything.
--   state_hash = sha256 hex of msgpack { machine: Machine.saveState(), scheduler: Scheduler.saveState() }
--   ram_hash   = sha256 hex over the per-page 64-bit fast hashes of RAM (see recorder.ts ramPageHashes)
--   events_hash = the running 64-bit hash (16 hex digits) of the events before the digest (seq 0 ..
--                 seq - 1), every column as stored: src/trace/event-hash.ts. Computed by the
--                 recorder as it emits the events; a differ trusts two equal digests to mean equal
--                 events before them only when these agree too, and when the stored events still
--                 hash to it. NULL when the writer did not know it (schema 1, other producers).
--   kind_counts = JSON {kind: n}: the events before the digest per kind (NULL as events_hash)
CREATE TABLE digests (
  id            INTEGER PRIMARY KEY,
  vtime         INTEGER NOT NULL,
  total_instret INTEGER NOT NULL,
  seq           INTEGER NOT NULL,     -- seq of the next event
  hart_instret  TEXT NOT NULL,        -- JSON array, instret per hart
  state_hash    TEXT NOT NULL,
  ram_hash      TEXT NOT NULL,
  final         INTEGER NOT NULL DEFAULT 0,
  events_hash   TEXT,                 -- schema 2
  kind_counts   TEXT                  -- schema 2
);

-- Symbol tables that travel with the trace, so that every reader names the code the same
-- wherever it runs (added within schema 2: a trace recorded before has no such table, and
-- readers then look for the System.map next to the image as before). The ELF images' own symbol
-- tables are not repeated here: they are inside the image bytes in `images`. Rows: the
-- System.map found next to a raw kernel / guest Image at record time when it describes that
-- image (src/machine/symbols.ts symbolsToStore), and the files given with `record --symbols`.
-- data = raw DEFLATE of one line per symbol, `VALUE SIZE T NAME` (VALUE, SIZE in hex; T f
-- function, o object, x other); sha256/size are of the file it was read from.
CREATE TABLE symbols (
  id     INTEGER PRIMARY KEY,
  role   TEXT,                      -- the image it describes ('kernel', 'guest<k>'); NULL: record --symbols
  name   TEXT NOT NULL,             -- the path it was read from when recording
  format TEXT NOT NULL,             -- 'system.map' | 'elf'
  sha256 TEXT NOT NULL,
  size   INTEGER NOT NULL,
  count  INTEGER NOT NULL,          -- symbols in data
  data   BLOB NOT NULL
);

-- ---- one view per event kind, with the kind's field names for a/b/c ----
-- Generated from src/trace/event-kinds.ts (node scripts/gen-event-schemas.mjs after npm run build;
-- test/event-kinds.test.ts checks it): edit the table, not the text between the markers.
-- @generated stored views
CREATE VIEW traps AS
  SELECT seq, vtime, hart, instret, priv AS from_priv, virt, pc AS epc, printf('0x%x', pc) AS epc_hex,
         (a & 0x7fffffffffffffff) AS cause, (a < 0) AS interrupt, b AS tval, printf('0x%x', b) AS tval_hex,
         c AS handler, printf('0x%x', c) AS handler_hex, payload
  FROM events WHERE kind = 'trap';

CREATE VIEW trap_returns AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv AS from_priv, virt,
         CASE a WHEN 0 THEN 'mret' WHEN 1 THEN 'sret' ELSE a END AS insn,
         b AS return_pc, printf('0x%x', b) AS return_pc_hex, c AS to_priv, payload
  FROM events WHERE kind = 'trap_return';

CREATE VIEW csr_writes AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt, a AS csr,
         b AS old, printf('0x%x', b) AS old_hex, c AS new, printf('0x%x', c) AS new_hex, payload
  FROM events WHERE kind = 'csr_write';

CREATE VIEW sbi_calls AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt,
         a AS eid, printf('0x%x', a) AS eid_hex, b AS fid, c AS error, payload
  FROM events WHERE kind = 'sbi_call';

CREATE VIEW mmio AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt,
         a AS address, printf('0x%x', a) AS address_hex, b AS value, printf('0x%x', b) AS value_hex,
         (c & 255) AS size, ((c >> 8) & 1) AS write, payload
  FROM events WHERE kind = 'mmio';

CREATE VIEW interrupts AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt, a AS bit, b AS level
  FROM events WHERE kind = 'irq';

CREATE VIEW hart_states AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt,
         a AS state_code, CASE a WHEN 0 THEN 'start' WHEN 1 THEN 'stop' WHEN 2 THEN 'suspend' WHEN 3 THEN 'resume' END AS state
  FROM events WHERE kind = 'hart_state';

CREATE VIEW input_events AS
  SELECT seq, vtime, hart, instret, pc, a AS byte
  FROM events WHERE kind = 'input';

CREATE VIEW halts AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, a AS exit_code, payload
  FROM events WHERE kind = 'halt';

CREATE VIEW vm_exits AS
  SELECT seq, vtime, hart, instret, pc AS guest_pc, printf('0x%x', pc) AS guest_pc_hex, priv, virt,
         a AS reason, b AS vcpu, c AS detail, payload
  FROM events WHERE kind = 'vm_exit';

CREATE VIEW vm_entries AS
  SELECT seq, vtime, hart, instret, pc AS guest_pc, printf('0x%x', pc) AS guest_pc_hex, priv, virt,
         a AS vcpu
  FROM events WHERE kind = 'vm_entry';

CREATE VIEW msis AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt, a AS target, b AS file,
         c AS eiid
  FROM events WHERE kind = 'msi';
-- @end generated

-- @deferred: everything below runs when the recording finishes (complete or aborted), not at
-- creation: building the indexes once is cheaper than maintaining them per insert. A trace
-- whose writer died without finishing has no indexes (queries still work, more slowly).
-- `hvtrace record`'s writer thread creates the indexes down to `@finish` with the tables
-- instead (src/trace/store-writer.ts, indexesFirst): maintained per insert there, they cost the
-- thread a little and the end of a recording nothing.
CREATE INDEX events_hart ON events(hart, seq);
CREATE INDEX events_vtime ON events(vtime);
CREATE INDEX checkpoints_instret ON checkpoints(total_instret);
CREATE INDEX digests_instret ON digests(total_instret);
-- @finish: built when the recording finishes by every writer. Per insert, events_kind (7 kinds
-- spread through it, text keys) cost the writer thread ~3x what it costs built at the end
-- (better-sqlite3, the Linux boot's 151,203 events: +205 ms of inserts with the two above, 37 ms
-- to build once).
CREATE INDEX events_kind ON events(kind, seq);


-- @reader: not stored in the trace. `hvtrace query` (TraceReader.query) creates these TEMP views
-- on its own read-only connection, where they shadow the stored views of the same names, so that
-- every trace, recorded before them or not, has them. They use the reader's SQL functions:
-- payload_json(payload), csr_name(n), cause_name(a) (the raw cause, interrupt bit included),
-- sbi_ext_name(eid), reason_name(code) (VM exits), irq_name(bit), priv_name(priv, virt).
-- Names sit beside the numbers, addresses have *_hex text columns, payloads a payload_json one;
-- the per-kind views are the stored ones plus the columns marked readerOnly in the table.
-- In plain sqlite3 the stored views above remain (without the names).
CREATE TEMP VIEW event_list AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt, priv_name(priv, virt) AS priv_name, kind,
         a, CASE WHEN a IS NULL THEN NULL ELSE printf('0x%x', a) END AS a_hex,
         b, CASE WHEN b IS NULL THEN NULL ELSE printf('0x%x', b) END AS b_hex,
         c, CASE WHEN c IS NULL THEN NULL ELSE printf('0x%x', c) END AS c_hex,
         payload, payload_json(payload) AS payload_json
  FROM events;

-- @generated reader views
CREATE TEMP VIEW traps AS
  SELECT seq, vtime, hart, instret, priv AS from_priv, virt, pc AS epc, printf('0x%x', pc) AS epc_hex,
         (a & 0x7fffffffffffffff) AS cause, cause_name(a) AS cause_name, (a < 0) AS interrupt,
         b AS tval, printf('0x%x', b) AS tval_hex, c AS handler, printf('0x%x', c) AS handler_hex,
         payload, payload_json(payload) AS payload_json
  FROM events WHERE kind = 'trap';

CREATE TEMP VIEW trap_returns AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv AS from_priv, virt,
         CASE a WHEN 0 THEN 'mret' WHEN 1 THEN 'sret' ELSE a END AS insn,
         b AS return_pc, printf('0x%x', b) AS return_pc_hex, c AS to_priv,
         payload, payload_json(payload) AS payload_json
  FROM events WHERE kind = 'trap_return';

CREATE TEMP VIEW csr_writes AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt,
         a AS csr, csr_name(a) AS csr_name, b AS old, printf('0x%x', b) AS old_hex,
         c AS new, printf('0x%x', c) AS new_hex, payload, payload_json(payload) AS payload_json
  FROM events WHERE kind = 'csr_write';

CREATE TEMP VIEW sbi_calls AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt,
         a AS eid, printf('0x%x', a) AS eid_hex, sbi_ext_name(a) AS sbi_ext_name, b AS fid, c AS error,
         payload, payload_json(payload) AS payload_json
  FROM events WHERE kind = 'sbi_call';

CREATE TEMP VIEW mmio AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt,
         a AS address, printf('0x%x', a) AS address_hex, b AS value, printf('0x%x', b) AS value_hex,
         (c & 255) AS size, ((c >> 8) & 1) AS write, payload, payload_json(payload) AS payload_json
  FROM events WHERE kind = 'mmio';

CREATE TEMP VIEW interrupts AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt,
         a AS bit, irq_name(a) AS irq_name, b AS level
  FROM events WHERE kind = 'irq';

CREATE TEMP VIEW hart_states AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt,
         a AS state_code, CASE a WHEN 0 THEN 'start' WHEN 1 THEN 'stop' WHEN 2 THEN 'suspend' WHEN 3 THEN 'resume' END AS state
  FROM events WHERE kind = 'hart_state';

CREATE TEMP VIEW input_events AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt, a AS byte
  FROM events WHERE kind = 'input';

CREATE TEMP VIEW halts AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt, a AS exit_code,
         payload, payload_json(payload) AS payload_json
  FROM events WHERE kind = 'halt';

CREATE TEMP VIEW vm_exits AS
  SELECT seq, vtime, hart, instret, pc AS guest_pc, printf('0x%x', pc) AS guest_pc_hex, priv, virt,
         a AS reason, reason_name(a) AS reason_name, b AS vcpu, c AS detail, printf('0x%x', c) AS detail_hex,
         payload, payload_json(payload) AS payload_json
  FROM events WHERE kind = 'vm_exit';

CREATE TEMP VIEW vm_entries AS
  SELECT seq, vtime, hart, instret, pc AS guest_pc, printf('0x%x', pc) AS guest_pc_hex, priv, virt,
         a AS vcpu, b AS vm
  FROM events WHERE kind = 'vm_entry';

CREATE TEMP VIEW msis AS
  SELECT seq, vtime, hart, instret, pc, printf('0x%x', pc) AS pc_hex, priv, virt, a AS target, b AS file,
         c AS eiid
  FROM events WHERE kind = 'msi';
-- @end generated
