/**
 * The Parquet encoder, run in a Worker so that encoding (arrow-rs compiled to WebAssembly, the
 * costliest step of a Parquet export) overlaps with reading and decoding rows on the main thread:
 * an export uses two cores.
 *
 * One file at a time: batches arrive as Arrow IPC streams (moved, not copied, from the main
 * thread) and go through parquet-wasm's `transformParquetStream`, whose input is pulled, so at
 * most one batch waits in WASM memory; the output is sent back as it is produced, never more than
 * {@link MAX_UNWRITTEN_BYTES} ahead of what the writer has stored. WASM memory grows but never
 * shrinks, which is why both directions are bounded. A worker is reused for the next file once
 * one is finished. With zstd and gzip the pages come out uncompressed, and the worker compresses
 * the chunks it has time for (`encoder_idle.ts`, `parquet_chunk_compressor.ts`).
 *
 * @module
 */
// The bundler build imports its WebAssembly as a module, so it loads with the module graph: no
// read permission for the .wasm file (the Node build reads it from node_modules or the npm cache),
// and `deno compile` embeds it.
import * as pw from "parquet-wasm/bundler";
import { releaseBuffer } from "../util/release_buffer.ts";
import { IdleShare } from "./encoder_idle.ts";
import { ChunkCompressor, type CompressedChunk } from "./parquet_chunk_compressor.ts";
import type { EncoderReply, EncoderRequest, EncoderSettings } from "./parquet_protocol.ts";

/**
 * Above this share of its time spent waiting for batches, the worker compresses pages itself:
 * some slack is left, so that it does not become the slower side.
 */
const IDLE_TO_COMPRESS = 0.2;

/** Most output bytes sent to the writer and not yet stored by it. */
const MAX_UNWRITTEN_BYTES = 8 * 1024 * 1024;

/** The parts of the worker's global scope this module uses. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<EncoderRequest>) => void) | null;
  postMessage(message: EncoderReply, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

function reply(message: EncoderReply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** One file being encoded. */
class Encoding {
  readonly #input: ReadableStreamDefaultController<pw.RecordBatch>;
  readonly #inputStream: ReadableStream<pw.RecordBatch>;
  /** Resolves when the encoder asks for its next batch. */
  #demand = Promise.withResolvers<void>();
  #unwritten = 0;
  #written = Promise.withResolvers<void>();
  #failed = false;
  /** Compresses chunks here when the writer would otherwise (see `EncoderSettings.compress`). */
  #pages: ChunkCompressor | undefined;
  readonly #idle = new IdleShare();

  constructor() {
    let input!: ReadableStreamDefaultController<pw.RecordBatch>;
    this.#inputStream = new ReadableStream<pw.RecordBatch>({
      start: (controller) => {
        input = controller;
      },
      pull: () => {
        this.#idle.asked(performance.now());
        this.#demand.resolve();
      },
    }, { highWaterMark: 0 });
    this.#input = input;
  }

  /** Starts the file; the schema batch makes arrow-rs build the Parquet schema at once. */
  async start(schema: Uint8Array, settings: EncoderSettings): Promise<void> {
    if (settings.compress) {
      this.#pages = new ChunkCompressor(settings.compress.codec, settings.compress.level);
    }
    for (const batch of fromIpc(schema)) this.#input.enqueue(batch);
    this.#idle.handed(performance.now());
    const encoded: ReadableStream<Uint8Array> = await pw.transformParquetStream(
      this.#inputStream,
      properties(settings),
    );
    void this.#send(encoded.getReader());
  }

  /**
   * Hands the batch to the encoder once it asks for one. Returns the batch's buffer, spent: its
   * bytes are in WASM memory by then.
   */
  async add(ipc: Uint8Array): Promise<ArrayBuffer> {
    const pending = fromIpc(ipc);
    let sent = 0;
    try {
      for (; sent < pending.length; sent++) {
        await this.#demand.promise;
        this.#demand = Promise.withResolvers<void>();
        // The encoder takes ownership of the batch: its WASM memory is freed after encoding.
        this.#input.enqueue(pending[sent]);
        this.#idle.handed(performance.now());
      }
    } finally {
      for (let i = sent; i < pending.length; i++) pending[i].free();
    }
    return ipc.buffer as ArrayBuffer;
  }

  finish(): void {
    this.#input.close();
  }

  /** The writer stored `bytes`: more output may be sent. */
  written(bytes: number): void {
    this.#unwritten -= bytes;
    this.#written.resolve();
    this.#written = Promise.withResolvers<void>();
  }

  /** Sends the encoder's output as it comes; reports the end, or the first failure. */
  async #send(output: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      for (;;) {
        while (this.#unwritten >= MAX_UNWRITTEN_BYTES) await this.#written.promise;
        const { value, done } = await output.read();
        if (done) break;
        const chunk = this.#compress(value);
        // Compressed into a new buffer: the encoder's copy of the pages is spent.
        if (chunk.compressed && owned(value)) releaseBuffer(value);
        // Only a buffer of its own can be moved to the other thread.
        const bytes = owned(chunk.bytes) ? chunk.bytes : chunk.bytes.slice();
        this.#unwritten += bytes.byteLength;
        reply({ type: "chunk", bytes, compressed: chunk.compressed }, [
          bytes.buffer as ArrayBuffer,
        ]);
      }
      reply({ type: "end", wasmBytes: pw.wasmMemory().buffer.byteLength });
    } catch (err) {
      this.fail(err, false);
    }
  }

  /**
   * The chunk to send for `value`: compressed here while this worker waits for batches more
   * than {@link IDLE_TO_COMPRESS} of its time (the main thread is the slower side), else as it is
   * for the main thread to compress.
   */
  #compress(value: Uint8Array): CompressedChunk {
    if (!this.#pages) return { bytes: value, compressed: false };
    const started = performance.now();
    const chunk = this.#pages.next(value, this.#idle.share > IDLE_TO_COMPRESS);
    if (chunk.compressed) this.#idle.busy(performance.now() - started);
    return chunk;
  }

  /** Reports the failure once and stops the encoder, which releases its WASM memory. */
  fail(err: unknown, rejected: boolean): void {
    if (this.#failed) return;
    this.#failed = true;
    reply({ type: "failed", message: err instanceof Error ? err.message : String(err), rejected });
    try {
      this.#input.error(err);
    } catch {
      // Already closed by finish(): the encoder ends on its own.
    }
  }
}

function owned(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/** The batches of one IPC stream, in WASM memory. */
function fromIpc(ipc: Uint8Array): pw.RecordBatch[] {
  const table = pw.Table.fromIPCStream(ipc);
  try {
    return table.recordBatches();
  } finally {
    table.free();
  }
}

function properties(settings: EncoderSettings): pw.WriterProperties {
  return new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression[settings.codec as keyof typeof pw.Compression])
    .setMaxRowGroupSize(settings.maxRowGroupRows)
    .setMaxRowGroupBytes(settings.maxRowGroupBytes)
    .setDictionaryEnabled(settings.dictionary)
    .build();
}

let current: Encoding | undefined;
/** Requests run one after another; `written` is handled at once, since output waits on it. */
let queue = Promise.resolve();

scope.onmessage = ({ data }) => {
  if (data.type === "written") {
    current?.written(data.bytes);
    return;
  }
  queue = queue.then(() => handle(data));
};

async function handle(request: Exclude<EncoderRequest, { type: "written" }>): Promise<void> {
  const encoding = request.type === "start" ? (current = new Encoding()) : current;
  if (!encoding) return;
  try {
    switch (request.type) {
      case "start":
        await encoding.start(request.schema, request.settings);
        reply({ type: "ready" });
        break;
      case "batch": {
        // Back to the writer, whose next batches are serialized into it: left to this isolate's
        // rare collections, dead batches (8 MiB each) piled up to ~100 MB of the process's
        // memory on 2 KB text rows.
        const spare = await encoding.add(request.ipc);
        reply({ type: "accepted", spare }, [spare]);
        break;
      }
      case "finish":
        encoding.finish();
        break;
    }
  } catch (err) {
    encoding.fail(err, request.type !== "finish");
  }
}
