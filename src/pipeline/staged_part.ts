/**
 * One part file of a piece while it is written and once it is finished: a staged file at the
 * destination, opened here and handed to a format writer. Shared by the two ways a piece is
 * written (Arrow batches, `piece_output.ts`; the server's CSV records, `csv_copy_output.ts`).
 *
 * @module
 */
import type { Staged } from "../destination/destination.ts";
import type { ExportContext } from "./context.ts";

/** One finished part file, staged. */
export interface StagedPart {
  /** The finished file, not yet visible. */
  staged: Staged;
  /** Rows in the part. */
  rows: number;
  /** Size of the part. */
  bytes: number;
}

/** What a part needs of its writer: a size so far, and an end that either keeps or drops it. */
export interface PartWriter {
  /** Bytes handed to the file so far. */
  bytesWritten(): number;
  /** Ends the file; its size is the part's. */
  finish(): Promise<{ bytes: number }>;
  /** Drops the file's writer; the caller then discards the staged file. */
  abort(reason?: unknown): Promise<void>;
}

/** A part being written. */
export interface OpenPart<W extends PartWriter> {
  /** The staged file. */
  staged: Staged;
  /** The file, open for writing; its writable belongs to the writer once there is one. */
  file: Deno.FsFile;
  /** The format writer on the file (undefined only while it is being created). */
  writer: W | undefined;
  /** Rows written to the part. */
  rows: number;
}

/**
 * Stages a new part and opens a writer on it with `open`. A writer that cannot be created leaves
 * nothing staged behind.
 */
export async function startPart<W extends PartWriter>(
  ctx: ExportContext,
  open: (sink: WritableStream<Uint8Array>) => Promise<W>,
): Promise<OpenPart<W>> {
  const staged = await ctx.destination.stage();
  const part: OpenPart<W> = {
    staged,
    file: await Deno.open(staged.path, { write: true, create: true, truncate: true }),
    writer: undefined,
    rows: 0,
  };
  try {
    part.writer = await open(part.file.writable);
  } catch (err) {
    await abortPart(part, err);
    throw err;
  }
  return part;
}

/** Ends the part's file: it stays staged, with its rows and size. */
export async function finishPart<W extends PartWriter>(part: OpenPart<W>): Promise<StagedPart> {
  const { bytes } = await part.writer!.finish();
  return { staged: part.staged, rows: part.rows, bytes };
}

/** Drops the part: its writer, its open file, and the staged file. */
export async function abortPart<W extends PartWriter>(
  part: OpenPart<W>,
  reason: unknown,
): Promise<void> {
  if (part.writer) {
    await part.writer.abort(reason).catch(() => {});
  } else {
    try {
      part.file.close();
    } catch {
      // Already closed by a failed stream.
    }
  }
  await part.staged.abort();
}
