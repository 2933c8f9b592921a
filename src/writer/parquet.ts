/**
 * Streaming Parquet writer. The encoding itself (parquet-wasm: arrow-rs compiled to WebAssembly)
 * runs in a worker (`parquet_encoder.ts`), so that it overlaps with reading rows: this side checks
 * each batch, moves it to the encoder as an Arrow IPC stream, and stores the bytes that come back.
 * With zstd and gzip the encoder writes its pages uncompressed and this side compresses them on
 * their way to the sink (`parquet_levels.ts`), except the chunks the worker compressed itself while
 * it had time to spare (`parquet_chunk_compressor.ts`): rivet sets the level, and the work goes
 * to whichever thread is waiting. On 300K rows of 2 KB text, encoding plus compressing kept the
 * worker busy while the main thread idled three quarters of the time; split, PostgreSQL → Parquet
 * took 5.0-5.3 s instead of 8.0-9.1 s, and ~4.7 s of CPU instead of 8.1-9.4 (native zstd is
 * faster than the WebAssembly build).
 *
 * Memory stays flat: a batch goes out only once the encoder took the previous one (so at most one
 * batch waits for it, besides the one it encodes), big batches go in slices of at most
 * {@link MAX_FEED_BYTES}, row groups are cut by rows and by bytes ({@link ParquetTuning}), and the
 * encoder sends output at most 8 MiB ahead of what the sink stored. WASM memory grows but never
 * shrinks, so these bounds are what keeps a long export's footprint flat.
 *
 * parquet-wasm's stream path discards errors from the encoder (a batch it cannot encode is
 * silently skipped), so this writer checks for itself: `finish` parses the footer it received and
 * compares its row count with the rows it was given.
 *
 * @module
 */
import { makeBuilder, makeData, RecordBatch, type Schema, Struct, util } from "apache-arrow";
import type { CompressionName } from "../config/types.ts";
import { DataIntegrityError, TypeMappingError } from "../errors.ts";
import { acquireEncoder, discardEncoder, releaseEncoder } from "./encoder_pool.ts";
import { IpcBuffers } from "./ipc_buffers.ts";
import { releaseBuffer } from "../util/release_buffer.ts";
import { ParquetRecompressor } from "./parquet_levels.ts";
import type { LevelCodec } from "./parquet_page.ts";
import type { EncoderReply, EncoderRequest, EncoderSettings } from "./parquet_protocol.ts";
import { assertSupportedFields } from "./types.ts";
import { parquetTailRowCount } from "./verify.ts";
import type { FormatWriter, WriterOptions } from "./writer.ts";

/** Row-group bounds; each row group is cut at whichever is reached first. */
export interface ParquetTuning {
  /** Most rows in one row group. */
  maxRowGroupRows: number;
  /**
   * Most bytes in one row group, as arrow-rs estimates them while buffering it: encoded (and
   * compressed, for snappy and lz4, which the encoder applies), i.e. roughly what the row group
   * occupies in WASM memory.
   */
  maxRowGroupBytes: number;
}

/**
 * Defaults: at most 122,880 rows (DuckDB's row-group size, readers handle it well) and 8 MiB
 * buffered per row group. A row limit far below arrow-rs's 1 Mi default matters: memory must
 * reach its steady state within the first few hundred thousand rows, so that a 2M-row export
 * needs no more than a 200k-row one.
 *
 * The encoder's WASM memory peaks at a few times the buffered row group (pages, the flushed copy,
 * the batch being converted) and never shrinks. Measured high-water marks with dictionaries on:
 * 64 MiB gave ~270 MB of WASM memory on 2 KB text rows, 32 MiB ~140 MB, 16 MiB ~90 MB but 4%
 * larger files on a 10-column mixed table, whose dictionaries restart with every row group. With
 * plain pages (see `settings`) the size cost is gone: 300K rows of 2 KB text, 32 MiB → 16 MiB took
 * WASM memory from 125 to 76 MB for 0.004% more bytes. 16 → 8 MiB: WASM memory 116 → 59 MB on
 * the 2 KB text rows and 84 → 72 MB on 1 M mixed rows (whose smaller output chunks also cost less
 * memory on both threads: peak RSS 297 → 253 MB), for under 0.1% more bytes and no more time.
 * Narrow tables reach the row limit first (TPC-H `lineitem`: about 3 MB of output per row group).
 */
export const DEFAULT_PARQUET_TUNING: Readonly<ParquetTuning> = {
  maxRowGroupRows: 122_880,
  maxRowGroupBytes: 8 * 1024 * 1024,
};

/** parquet-wasm's name for each codec. */
const CODECS: Record<CompressionName, string> = {
  zstd: "ZSTD",
  snappy: "SNAPPY",
  gzip: "GZIP",
  // LZ4_RAW: the legacy LZ4 codec is deprecated by the format and unreadable by e.g. DuckDB.
  lz4: "LZ4_RAW",
  none: "UNCOMPRESSED",
};

/**
 * The levels used when `compression_level` is not set: arrow-rs's defaults, zstd 1 and gzip 6,
 * which parquet-wasm would apply itself (compressing its uncompressed pages with `node:zlib` at
 * these levels reproduces its pages).
 */
const DEFAULT_LEVELS: Record<LevelCodec, number> = { zstd: 1, gzip: 6 };

const PARQUET_MAGIC = [0x50, 0x41, 0x52, 0x31];

/** Most Arrow buffer bytes sent to the encoder at once (each is copied into WASM memory). */
const MAX_FEED_BYTES = 8 * 1024 * 1024;

/**
 * Opens a streaming Parquet writer on `sink`.
 *
 * @throws {TypeMappingError} when a column's type is not one rivet writes (see `types.ts`) or
 * arrow-rs cannot build a Parquet schema for it (the sink is aborted).
 * @throws {RangeError} when `compressionLevel` is set for a codec without levels (the sink is
 * aborted).
 */
export async function createParquetWriter(
  schema: Schema,
  sink: WritableStream<Uint8Array>,
  options: WriterOptions,
  tuning: Readonly<ParquetTuning> = DEFAULT_PARQUET_TUNING,
): Promise<FormatWriter> {
  let compress: EncoderSettings["compress"];
  let recompressor: ParquetRecompressor | undefined;
  try {
    assertSupportedFields(schema.fields, "Parquet");
    compress = pageCompression(options);
    recompressor = compress && new ParquetRecompressor(compress.codec, compress.level);
  } catch (err) {
    await sink.abort(err).catch(() => {});
    throw err;
  }
  const writer = new ParquetWriter(schema, sink.getWriter(), recompressor);
  try {
    await writer.start(
      settings(
        options.compression,
        forParts(tuning, options.partBytes),
        options.partBytes,
        compress,
      ),
    );
  } catch (err) {
    await writer.abort(err);
    throw err instanceof TypeMappingError ? err : new TypeMappingError(
      `cannot write this schema to Parquet: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return writer;
}

/**
 * The compression rivet applies to the pages itself: for zstd and gzip, at `compressionLevel`
 * or the default level; undefined for the codecs the encoder applies, which have no levels.
 */
function pageCompression(
  { compression, compressionLevel }: WriterOptions,
): EncoderSettings["compress"] {
  if (compression === "zstd" || compression === "gzip") {
    return { codec: compression, level: compressionLevel ?? DEFAULT_LEVELS[compression] };
  }
  if (compressionLevel !== undefined) {
    throw new RangeError(`compression_level ${compressionLevel}: ${compression} has no levels`);
  }
  return undefined;
}

/**
 * Row groups of at most a quarter of the part size (but not tiny), so a part ends at most one
 * small row group past `max_file_size`: the part size is only known once a row group is flushed.
 */
function forParts(tuning: Readonly<ParquetTuning>, partBytes: number | undefined): ParquetTuning {
  if (partBytes === undefined) return tuning;
  const rowGroupBytes = Math.max(MIN_PART_ROW_GROUP_BYTES, Math.floor(partBytes / 4));
  return { ...tuning, maxRowGroupBytes: Math.min(tuning.maxRowGroupBytes, rowGroupBytes) };
}

/** Below this, per-row-group overhead (metadata, page headers) would dominate small parts. */
const MIN_PART_ROW_GROUP_BYTES = 16 * 1024;

/**
 * The encoder's settings. Columns are written plain (no dictionary pages), then compressed:
 * arrow-rs would begin every column of every row group with a dictionary and fall back to plain
 * once it passes 1 MiB, so high-cardinality columns (ids, URLs, JSON) pay for both, while zstd
 * finds the repeats a dictionary would have caught. Measured with zstd: 1M mixed rows 51 MB
 * instead of 67 MB and 30% less encoder CPU, TPC-H `lineitem` the same size and 15% less CPU.
 *
 * Except when parts are cut by size (`max_file_size`): with plain pages parquet-wasm 0.8 does not
 * cut row groups at the small byte limits parts need (`forParts`), so a part would overrun its
 * size by far; with dictionaries it does (`tests/chunked_test.ts` fails if parts stop being cut).
 */
function settings(
  compression: CompressionName,
  tuning: Readonly<ParquetTuning>,
  partBytes: number | undefined,
  compress: EncoderSettings["compress"],
): EncoderSettings {
  return {
    codec: CODECS[compress ? "none" : compression],
    maxRowGroupRows: tuning.maxRowGroupRows,
    maxRowGroupBytes: tuning.maxRowGroupBytes,
    dictionary: partBytes !== undefined,
    compress,
  };
}

/** A zero-row batch of `schema`, with every nested child present (the IPC writer needs them). */
function emptyBatch(schema: Schema): RecordBatch {
  const children = schema.fields.map((field) => makeBuilder({ type: field.type }).flush());
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children }),
  );
}

type State = "open" | "finishing" | "finished" | "aborted";

class ParquetWriter implements FormatWriter {
  readonly #schema: Schema;
  readonly #sink: WritableStreamDefaultWriter<Uint8Array>;
  readonly #worker: Worker;
  /** Compresses the encoder's uncompressed pages on their way to the sink (zstd, gzip). */
  readonly #recompressor: ParquetRecompressor | undefined;
  /** The buffers batches are serialized into, handed back by the encoder once spent. */
  readonly #ipc = new IpcBuffers();
  /** Resolves when the encoder may take the next batch (it took the last one, or started). */
  #accepted = Promise.withResolvers<void>();
  /** Resolves when every byte of the file reached the sink. */
  readonly #ended = Promise.withResolvers<void>();
  /** Rejects with the first failure, so every wait on the encoder ends when something breaks. */
  readonly #failed = Promise.withResolvers<never>();
  #failure: { error: unknown } | undefined;
  /** Sink writes, in order of arrival. */
  #storing: Promise<void> = Promise.resolve();
  /**
   * Output chunks received after `finish` began, which end with the footer; kept only when
   * nothing else reads the footer (see {@link #footerRows}).
   */
  #tail: Uint8Array[] | undefined;
  readonly #head: number[] = [];
  /** The row group size the encoder was given, and the WASM memory it reported at the end. */
  #rowGroupBytes = 0;
  #wasmBytes = 0;
  #rows = 0;
  #bytes = 0;
  #state: State = "open";

  constructor(
    schema: Schema,
    sink: WritableStreamDefaultWriter<Uint8Array>,
    recompressor: ParquetRecompressor | undefined,
  ) {
    this.#schema = schema;
    this.#sink = sink;
    this.#recompressor = recompressor;
    this.#failed.promise.catch(() => {});
    this.#ended.promise.catch(() => {});
    this.#worker = acquireEncoder();
    this.#worker.onmessage = (event: MessageEvent<EncoderReply>) => this.#receive(event.data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(new Error(`Parquet encoder crashed: ${event.message}`));
    };
  }

  async start(settings: EncoderSettings): Promise<void> {
    this.#rowGroupBytes = settings.maxRowGroupBytes;
    // An empty first batch makes the encoder build the Parquet schema now, so a type arrow-rs
    // cannot write fails here rather than on the first data batch.
    const schema = this.#ipc.serialize(emptyBatch(this.#schema));
    this.#send({ type: "start", schema, settings }, [schema.buffer as ArrayBuffer]);
    await Promise.race([this.#accepted.promise, this.#failed.promise]);
  }

  async write(batch: RecordBatch): Promise<void> {
    this.#usable();
    if (!util.compareSchemas(this.#schema, batch.schema)) {
      throw new TypeMappingError("batch schema differs from the Parquet file's schema");
    }
    const rows = batch.numRows;
    if (rows === 0) return;
    // Big batches go in slices: each copy into WASM memory (IPC bytes, then decoded arrays) is
    // a high-water mark that memory never shrinks back from.
    const slices = Math.ceil(batch.data.byteLength / MAX_FEED_BYTES);
    const step = Math.ceil(rows / slices);
    try {
      for (let start = 0; start < rows; start += step) {
        const ipc = this.#ipc.serialize(slices > 1 ? batch.slice(start, start + step) : batch);
        await Promise.race([this.#accepted.promise, this.#failed.promise]);
        this.#accepted = Promise.withResolvers<void>();
        this.#send({ type: "batch", ipc }, [ipc.buffer as ArrayBuffer]);
      }
    } catch (err) {
      // Some rows may already be encoded: the file can no longer match what was written.
      this.#fail(err);
      throw err;
    }
    this.#rows += rows;
  }

  bytesWritten(): number {
    return this.#bytes;
  }

  async finish(): Promise<{ rows: number; bytes: number }> {
    this.#usable();
    this.#state = "finishing";
    try {
      await Promise.race([this.#accepted.promise, this.#failed.promise]);
      if (!this.#recompressor) this.#tail = [];
      this.#send({ type: "finish" });
      await Promise.race([this.#ended.promise, this.#failed.promise]);
      await this.#verify();
      this.#tail = undefined;
      await this.#sink.close();
    } catch (err) {
      this.#fail(err);
      throw this.#failure!.error;
    }
    this.#state = "finished";
    releaseEncoder(this.#worker, this.#wasmBytes, this.#rowGroupBytes);
    return { rows: this.#rows, bytes: this.#bytes };
  }

  async abort(reason?: unknown): Promise<void> {
    if (this.#state === "finished" || this.#state === "aborted") return;
    this.#fail(reason ?? new Error("Parquet writer aborted"));
    this.#state = "aborted";
    await this.#storing.catch(() => {});
  }

  #send(request: EncoderRequest, transfer: Transferable[] = []): void {
    this.#worker.postMessage(request, transfer);
  }

  #receive(reply: EncoderReply): void {
    switch (reply.type) {
      case "ready":
        this.#accepted.resolve();
        break;
      case "accepted":
        if (reply.spare) this.#ipc.giveBack(reply.spare);
        this.#accepted.resolve();
        break;
      case "chunk":
        this.#take(reply.bytes, reply.compressed);
        break;
      case "end":
        this.#wasmBytes = reply.wasmBytes;
        this.#end();
        break;
      case "failed":
        this.#fail(
          reply.rejected
            ? new TypeMappingError(`Parquet writer rejected a batch: ${reply.message}`)
            : new Error(`Parquet encoder failed: ${reply.message}`),
        );
        break;
    }
  }

  /**
   * Takes a chunk of the encoder's output (compressing its pages, if this side does) and stores
   * it; the encoder learns when it is stored, which is what lets it send more.
   */
  #take(bytes: Uint8Array, compressed: boolean): void {
    if (this.#failure) return;
    const length = bytes.length;
    try {
      const outs = this.#recompressor ? this.#recompressor.push(bytes, compressed) : [bytes];
      for (const out of outs) this.#store(out);
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#storing = this.#storing.then(() => {
      if (!this.#failure) this.#send({ type: "written", bytes: length });
    });
    this.#storing.catch((err) => this.#fail(err));
  }

  /**
   * The encoder sent every byte: the rest of the output is stored, then the file is complete.
   * Those last chunks are views of one buffer, so none of them is released after it is stored:
   * that would empty the others.
   */
  #end(): void {
    if (this.#failure) return;
    try {
      for (const out of this.#recompressor?.end() ?? []) this.#store(out, true);
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#storing.then(() => this.#ended.resolve(), () => {});
  }

  /**
   * Counts a chunk at once (so `bytesWritten()` is current at every batch boundary, which part
   * rotation depends on) and writes it after the chunks before it. `shared` says its buffer is
   * not its own alone.
   */
  #store(bytes: Uint8Array, shared = false): void {
    for (let i = 0; this.#head.length < 4 && i < bytes.length; i++) this.#head.push(bytes[i]);
    this.#tail?.push(bytes);
    this.#bytes += bytes.length;
    const kept = shared || this.#tail !== undefined;
    this.#storing = this.#storing.then(async () => {
      await this.#sink.write(bytes);
      // Stored (see `FormatWriter`): freed at once, unless the footer check still reads it or
      // it shares its buffer.
      // Left to this thread's collector, ~40 dead chunks of 6 MB piled up in the encoder
      // thread's memory on 2 KB text rows.
      if (!kept) releaseBuffer(bytes);
    });
    this.#storing.catch((err) => this.#fail(err));
  }

  async #verify(): Promise<void> {
    if (this.#head.length < 4 || this.#head.some((b, i) => b !== PARQUET_MAGIC[i])) {
      throw new DataIntegrityError("Parquet output does not start with the Parquet magic bytes");
    }
    const footerRows = await this.#footerRows();
    if (footerRows !== this.#rows) {
      throw new DataIntegrityError(
        `Parquet footer records ${footerRows} rows but ${this.#rows} were written`,
      );
    }
  }

  /**
   * The row count in the encoder's footer. The recompressor read that footer already, to rewrite
   * it, and leaves its row counts as they were; parsing the rewritten one with hyparquet as well
   * cost ~20 bytes of JS heap per footer byte at the end of every file (4.0 MB for the 199 KB
   * footer of 6 M rows of TPC-H `lineitem`), in proportion to the file's row groups.
   */
  async #footerRows(): Promise<number | undefined> {
    if (this.#recompressor) return this.#recompressor.footerRows;
    return await parquetTailRowCount(this.#tail ?? []);
  }

  /** Records the first failure and tears everything down; later calls only keep the first. */
  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = { error };
    this.#failed.reject(error);
    this.#tail = undefined;
    // The encoder may be in any state: a fresh worker serves the next file.
    discardEncoder(this.#worker);
    this.#sink.abort(error).catch(() => {});
  }

  #usable(expected: State = "open"): void {
    if (this.#failure) throw this.#failure.error;
    if (this.#state !== expected) throw new Error(`Parquet writer already ${this.#state}`);
  }
}
