/**
 * Streaming Parquet writer on parquet-wasm (arrow-rs compiled to WebAssembly).
 *
 * One file, many row groups: batches go one at a time through parquet-wasm's
 * `transformParquetStream`, whose input is pulled, so at most one converted batch (itself cut to
 * at most 8 MiB) waits in WASM memory, and row groups are cut by rows and by
 * bytes ({@link ParquetTuning}). WASM memory grows but never shrinks, so these bounds are what keeps
 * a long export's footprint flat.
 *
 * That stream path discards errors from the encoder and from its own output (a batch it cannot
 * encode is silently skipped), so this writer checks for itself: every output chunk goes to the
 * sink under our control and sink failures reject `write`/`finish`, and `finish` parses the
 * footer it just produced and compares its row count with the rows it was given.
 *
 * Under Deno, `import "parquet-wasm"` resolves to the package's Node build (the `node` export
 * condition), which instantiates its WASM synchronously on import, reading the `.wasm` file next
 * to it: no init call is needed.
 *
 * @module
 */
import {
  makeBuilder,
  makeData,
  RecordBatch,
  type Schema,
  Struct,
  Table as ArrowTable,
  tableToIPC,
  util,
} from "apache-arrow";
import * as pw from "parquet-wasm";
import type { CompressionName } from "../config/types.ts";
import { DataIntegrityError, errorMessage, TypeMappingError } from "../errors.ts";
import { log } from "../util/log.ts";
import { assertSupportedFields } from "./types.ts";
import { parquetTailRowCount } from "./verify.ts";
import type { FormatWriter, WriterOptions } from "./writer.ts";

/** Row-group bounds; each row group is cut at whichever is reached first. */
export interface ParquetTuning {
  /** Most rows in one row group. */
  maxRowGroupRows: number;
  /**
   * Most bytes in one row group, as arrow-rs estimates them while buffering it: encoded and
   * (for finished pages) compressed, i.e. roughly what the row group occupies in WASM memory.
   */
  maxRowGroupBytes: number;
}

/**
 * Defaults: at most 122,880 rows (DuckDB's row-group size, readers handle it well) and 32 MiB
 * buffered per row group. A row limit far below arrow-rs's 1 Mi default matters: memory must
 * reach its steady state within the first few hundred thousand rows, so that a 2M-row export
 * needs no more than a 200k-row one.
 *
 * The encoder's WASM memory peaks at a few times the buffered row group (pages, the flushed copy,
 * the batch being converted) and never shrinks. Measured high-water marks: 64 MiB gave ~270 MB of
 * WASM memory on 2 KB text rows, 32 MiB ~140 MB on both those and a 10-column mixed table, 16 MiB
 * ~90 MB but 4% larger files on the mixed table. Typical tables reach the row limit first
 * (about 33 MB per 1 Mi rows of the mixed table).
 */
export const DEFAULT_PARQUET_TUNING: Readonly<ParquetTuning> = {
  maxRowGroupRows: 122_880,
  maxRowGroupBytes: 32 * 1024 * 1024,
};

const CODECS: Record<CompressionName, pw.Compression> = {
  zstd: pw.Compression.ZSTD,
  snappy: pw.Compression.SNAPPY,
  gzip: pw.Compression.GZIP,
  // LZ4_RAW: the legacy LZ4 codec is deprecated by the format and unreadable by e.g. DuckDB.
  lz4: pw.Compression.LZ4_RAW,
  none: pw.Compression.UNCOMPRESSED,
};

/**
 * The level each codec is written at. parquet-wasm 0.8.0 maps its codec enum to arrow-rs codecs
 * with `Default::default()` levels and exposes no level setter: zstd 3 (zstd's own default),
 * gzip 6 (flate2's default).
 */
const FIXED_LEVEL: Partial<Record<CompressionName, number>> = { zstd: 3, gzip: 6 };

const PARQUET_MAGIC = [0x50, 0x41, 0x52, 0x31];

/** Most encoded bytes read from the encoder ahead of the sink. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** Most Arrow buffer bytes copied into WASM memory at once. */
const MAX_FEED_BYTES = 8 * 1024 * 1024;

/**
 * Opens a streaming Parquet writer on `sink`.
 *
 * parquet-wasm cannot set codec levels, so a `compressionLevel` other than the codec's default
 * (zstd 3, gzip 6) cannot be applied: a warning says so, once per file.
 *
 * @throws {TypeMappingError} when a column's type is not one rivet writes (see `types.ts`) or
 * arrow-rs cannot build a Parquet schema for it (the sink is aborted).
 */
export async function createParquetWriter(
  schema: Schema,
  sink: WritableStream<Uint8Array>,
  options: WriterOptions,
  tuning: Readonly<ParquetTuning> = DEFAULT_PARQUET_TUNING,
): Promise<FormatWriter> {
  try {
    assertSupportedFields(schema.fields, "Parquet");
  } catch (err) {
    await sink.abort(err).catch(() => {});
    throw err;
  }
  warnUnappliedLevel(options);
  const writer = new ParquetWriter(schema, sink.getWriter());
  try {
    await writer.start(properties(options.compression, forParts(tuning, options.partBytes)));
  } catch (err) {
    await writer.abort(err);
    throw err instanceof TypeMappingError ? err : new TypeMappingError(
      `cannot write this schema to Parquet: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  return writer;
}

function warnUnappliedLevel({ compression, compressionLevel }: WriterOptions): void {
  if (compressionLevel === undefined) return;
  const fixed = FIXED_LEVEL[compression];
  if (fixed === compressionLevel) return;
  log.warn(
    fixed === undefined
      ? `compression_level ${compressionLevel} ignored: ${compression} has no levels`
      : `compression_level ${compressionLevel} cannot be applied: the Parquet writer ` +
        `(parquet-wasm 0.8.0) has no codec level setting, so ${compression} is written at its ` +
        `default level ${fixed}`,
  );
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

function properties(
  compression: CompressionName,
  tuning: Readonly<ParquetTuning>,
): pw.WriterProperties {
  return new pw.WriterPropertiesBuilder()
    .setCompression(CODECS[compression])
    .setMaxRowGroupSize(tuning.maxRowGroupRows)
    .setMaxRowGroupBytes(tuning.maxRowGroupBytes)
    .build();
}

/** Copies an Arrow JS batch into WASM memory, via the IPC stream format. */
function toWasm(batch: RecordBatch): pw.RecordBatch[] {
  let table: pw.Table;
  try {
    table = pw.Table.fromIPCStream(tableToIPC(new ArrowTable([batch]), "stream"));
  } catch (err) {
    throw new TypeMappingError(`Parquet writer rejected a batch: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  try {
    return table.recordBatches();
  } finally {
    table.free();
  }
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
  /** Batches for the encoder; pulled one at a time, so at most one waits in WASM memory. */
  readonly #inputStream: ReadableStream<pw.RecordBatch>;
  readonly #input: ReadableStreamDefaultController<pw.RecordBatch>;
  /** Resolves when the encoder asks for its next batch. */
  #demand = Promise.withResolvers<void>();
  /** Rejects with the first failure, so waits on the encoder end when something breaks. */
  readonly #failed = Promise.withResolvers<never>();
  #failure: { error: unknown } | undefined;
  #output?: ReadableStreamDefaultReader<Uint8Array>;
  #pump: Promise<void> = Promise.resolve();
  /** Output chunks read after `finish` began: they end with the footer. */
  #tail: Uint8Array[] | undefined;
  readonly #head: number[] = [];
  #rows = 0;
  #bytes = 0;
  #state: State = "open";

  constructor(schema: Schema, sink: WritableStreamDefaultWriter<Uint8Array>) {
    this.#schema = schema;
    this.#sink = sink;
    this.#failed.promise.catch(() => {});
    let input!: ReadableStreamDefaultController<pw.RecordBatch>;
    this.#inputStream = new ReadableStream<pw.RecordBatch>({
      start: (controller) => {
        input = controller;
      },
      pull: () => this.#demand.resolve(),
    }, { highWaterMark: 0 });
    this.#input = input;
  }

  async start(props: pw.WriterProperties): Promise<void> {
    // An empty first batch makes the encoder build the Parquet schema now, so a type arrow-rs
    // cannot write fails here rather than on the first data batch.
    for (const first of toWasm(emptyBatch(this.#schema))) this.#input.enqueue(first);
    const output: ReadableStream<Uint8Array> = await pw.transformParquetStream(
      this.#inputStream,
      props,
    );
    this.#output = output.getReader();
    this.#pump = this.#pumpOutput(this.#output);
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
        await this.#feed(slices > 1 ? batch.slice(start, start + step) : batch);
      }
    } catch (err) {
      // Some rows may already be encoded: the file can no longer match what was written.
      this.#fail(err);
      throw err;
    }
    this.#rows += rows;
  }

  /** Hands one batch to the encoder once it asks for one. */
  async #feed(batch: RecordBatch): Promise<void> {
    const pending = toWasm(batch);
    let sent = 0;
    try {
      for (; sent < pending.length; sent++) {
        await Promise.race([this.#demand.promise, this.#failed.promise]);
        this.#demand = Promise.withResolvers<void>();
        // The encoder takes ownership of the batch: its WASM memory is freed after encoding.
        this.#input.enqueue(pending[sent]);
      }
    } finally {
      for (let i = sent; i < pending.length; i++) pending[i].free();
    }
  }

  bytesWritten(): number {
    return this.#bytes;
  }

  async finish(): Promise<{ rows: number; bytes: number }> {
    this.#usable();
    this.#state = "finishing";
    this.#tail = [];
    this.#input.close();
    await this.#pump;
    this.#usable("finishing");
    try {
      this.#verify(this.#tail);
      this.#tail = undefined;
      await this.#sink.close();
    } catch (err) {
      this.#fail(err);
      await this.#pump;
      throw err;
    }
    this.#state = "finished";
    return { rows: this.#rows, bytes: this.#bytes };
  }

  async abort(reason?: unknown): Promise<void> {
    if (this.#state === "finished" || this.#state === "aborted") return;
    this.#fail(reason ?? new Error("Parquet writer aborted"));
    this.#state = "aborted";
    await this.#pump;
  }

  #verify(tail: Uint8Array[]): void {
    if (this.#head.length < 4 || this.#head.some((b, i) => b !== PARQUET_MAGIC[i])) {
      throw new DataIntegrityError("Parquet output does not start with the Parquet magic bytes");
    }
    const footerRows = parquetTailRowCount(tail);
    if (footerRows !== this.#rows) {
      throw new DataIntegrityError(
        `Parquet footer records ${footerRows} rows but ${this.#rows} were written`,
      );
    }
  }

  /**
   * Moves encoder output to the sink; the only place that writes to it. Output is read as soon as
   * the encoder produces it and counted then, so `bytesWritten()` is current at every batch
   * boundary (part rotation depends on it) even while the sink is still writing earlier chunks;
   * at most {@link MAX_QUEUED_BYTES} wait between the two.
   */
  async #pumpOutput(output: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const queue: Uint8Array[] = [];
    let queued = 0;
    let ended = false;
    let wake = Promise.withResolvers<void>();
    let drained = Promise.withResolvers<void>();
    const read = async () => {
      for (;;) {
        if (queued >= MAX_QUEUED_BYTES) await Promise.race([drained.promise, this.#failed.promise]);
        const { value, done } = await output.read();
        if (done) break;
        if (!(value instanceof Uint8Array)) {
          throw new TypeError(`Parquet encoder produced ${typeof value}, not bytes`);
        }
        for (let i = 0; this.#head.length < 4 && i < value.length; i++) this.#head.push(value[i]);
        this.#tail?.push(value);
        this.#bytes += value.length;
        queue.push(value);
        queued += value.length;
        wake.resolve();
      }
      ended = true;
      wake.resolve();
    };
    const write = async () => {
      for (;;) {
        if (queue.length === 0) {
          if (ended) return;
          await Promise.race([wake.promise, this.#failed.promise]);
          wake = Promise.withResolvers<void>();
          continue;
        }
        const chunk = queue.shift()!;
        queued -= chunk.length;
        drained.resolve();
        drained = Promise.withResolvers<void>();
        await this.#sink.write(chunk);
      }
    };
    try {
      await Promise.all([read(), write()]);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Records the first failure and tears everything down; later calls only keep the first. */
  #fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = { error };
    this.#failed.reject(error);
    this.#tail = undefined;
    // Ending the input lets the encoder task finish and release its WASM memory; cancelling
    // the output unblocks it if it waits on a full stream.
    try {
      this.#input.error(error);
    } catch {
      // Already closed by finish(): the encoder ends on its own.
    }
    this.#output?.cancel(error).catch(() => {});
    this.#sink.abort(error).catch(() => {});
  }

  #usable(expected: State = "open"): void {
    if (this.#failure) throw this.#failure.error;
    if (this.#state !== expected) throw new Error(`Parquet writer already ${this.#state}`);
  }
}
