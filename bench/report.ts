/**
 * Turns the bench's runs into figures (medians, rates, ratios to the baselines, the issue's
 * targets), prints them as a table and writes them as JSON for comparison over time.
 *
 * @module
 */
import { join } from "node:path";
import type { Contender, Run } from "./contenders.ts";
import type { DatasetName } from "./datasets.ts";
import type { MachineInfo } from "./machine.ts";
import { median } from "./measure.ts";
import type { SourceFacts } from "./prepare.ts";
import type { Engine } from "./servers.ts";
import { PEAK_RSS_TARGET_MB, RSS_FLATNESS_TARGET, verdict, WALL_RATIO_TARGET } from "./targets.ts";
import type { Format } from "./verify.ts";

const MIB = 1024 * 1024;

/** Every run of one contender on one dataset and engine. */
export interface Measured {
  dataset: DatasetName;
  engine: Engine;
  facts: SourceFacts;
  /** Bytes of text the primary baseline emits for the table (see {@link SOURCE_BYTES}). */
  sourceBytes: number;
  contender: Contender;
  runs: Run[];
}

/** What MB/s divides: stated in the table's header and in the JSON. */
export const SOURCE_BYTES =
  "source bytes = the bytes the primary baseline writes to stdout (psql \\copy text on " +
  "PostgreSQL, mariadb --quick -N on MariaDB), counted in an untimed warm-up run";

/** The figures of one contender on one dataset and engine. */
export interface Summary {
  dataset: DatasetName;
  engine: Engine;
  what: string;
  format: Format | null;
  baseline: string | null;
  rows: number;
  medianWallSeconds: number;
  minWallSeconds: number;
  maxWallSeconds: number;
  medianCpuSeconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  /** The highest peak RSS of the runs. */
  peakRssMb: number;
  medianOutputMb: number | null;
  /** Median wall time over the baseline's median wall time. */
  wallRatio: number | null;
  wallRatioTarget: number | null;
  verdict: string | null;
  problems: string[];
  runs: Run[];
}

/** Peak RSS at ten times the rows over peak RSS at the smaller count (`wide` vs `wide_small`). */
export interface Flatness {
  engine: Engine;
  format: Format;
  smallRows: number;
  largeRows: number;
  smallPeakRssMb: number;
  largePeakRssMb: number;
  ratio: number;
  target: number;
  verdict: string;
}

/** Summarises every contender's runs, each rivet export against its baseline. */
export function summarise(measured: Measured[]): Summary[] {
  const baseWall = new Map<string, number>();
  for (const m of measured.filter((m) => !m.contender.rivet)) {
    baseWall.set(
      `${m.dataset}/${m.engine}/${m.contender.what}`,
      median(m.runs.map((r) => r.wallSeconds)),
    );
  }
  return measured.map((m) => {
    const walls = m.runs.map((r) => r.wallSeconds);
    const wall = median(walls);
    const peakRssMb = Math.max(...m.runs.map((r) => r.peakRssMb));
    const outputs = m.runs.flatMap((r) => r.outputBytes === undefined ? [] : [r.outputBytes]);
    const rivet = m.contender.rivet;
    const base = rivet ? baseWall.get(`${m.dataset}/${m.engine}/${rivet.baseline}`) : undefined;
    const wallRatio = base === undefined ? null : wall / base;
    return {
      dataset: m.dataset,
      engine: m.engine,
      what: m.contender.what,
      format: rivet?.format ?? null,
      baseline: rivet?.baseline ?? null,
      rows: m.facts.rows,
      medianWallSeconds: wall,
      minWallSeconds: Math.min(...walls),
      maxWallSeconds: Math.max(...walls),
      medianCpuSeconds: median(m.runs.map((r) => r.cpuSeconds)),
      rowsPerSecond: m.facts.rows / wall,
      mbPerSecond: m.sourceBytes / MIB / wall,
      peakRssMb,
      medianOutputMb: outputs.length === 0 ? null : median(outputs) / MIB,
      wallRatio,
      wallRatioTarget: rivet ? WALL_RATIO_TARGET[m.engine][rivet.format] : null,
      verdict: rivet && wallRatio !== null
        ? verdict(m.engine, rivet.format, wallRatio, peakRssMb)
        : null,
      problems: m.runs.flatMap((r) => r.problems),
      runs: m.runs,
    };
  });
}

/** The flatness of peak RSS between `wide_small` and `wide`, per engine and format measured. */
export function flatness(summaries: Summary[]): Flatness[] {
  return summaries.flatMap((large) => {
    const small = summaries.find((s) =>
      s.dataset === "wide_small" && s.engine === large.engine && s.what === large.what
    );
    if (large.dataset !== "wide" || !large.format || !small) return [];
    const ratio = large.peakRssMb / small.peakRssMb;
    return [{
      engine: large.engine,
      format: large.format,
      smallRows: small.rows,
      largeRows: large.rows,
      smallPeakRssMb: small.peakRssMb,
      largePeakRssMb: large.peakRssMb,
      ratio,
      target: RSS_FLATNESS_TARGET,
      verdict: ratio <= RSS_FLATNESS_TARGET ? "pass" : "FAIL",
    }];
  });
}

function grouped(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The report as printed: the main table, its notes, and the flatness check. */
export function render(summaries: Summary[], flat: Flatness[], runs: number): string {
  const main = table(
    [
      "dataset",
      "engine",
      "what",
      "rows",
      "wall s",
      "min-max s",
      "cpu s",
      "rows/s",
      "src MB/s",
      "peak RSS MB",
      "output MB",
      "x baseline",
      "target",
      "verdict",
    ],
    summaries.map((s) => [
      s.dataset,
      s.engine,
      s.what,
      grouped(s.rows),
      s.medianWallSeconds.toFixed(2),
      `${s.minWallSeconds.toFixed(2)}-${s.maxWallSeconds.toFixed(2)}`,
      s.medianCpuSeconds.toFixed(2),
      grouped(s.rowsPerSecond),
      s.mbPerSecond.toFixed(1),
      s.peakRssMb.toFixed(0),
      s.medianOutputMb === null ? "-" : s.medianOutputMb.toFixed(1),
      s.wallRatio === null ? "-" : s.wallRatio.toFixed(2),
      s.wallRatioTarget === null ? "-" : `<=${s.wallRatioTarget}x, <=${PEAK_RSS_TARGET_MB} MB`,
      s.verdict ?? "-",
    ]),
  );
  const notes = [
    `Medians of ${runs} alternating run(s); MB = 2^20 bytes; peak RSS is the highest of the runs.`,
    `src MB/s: ${SOURCE_BYTES}.`,
    "x baseline: rivet's median wall time over its baseline's: parquet vs psql \\copy text and " +
    "csv vs psql \\copy csv (FORMAT csv) on PostgreSQL, both vs mariadb --quick on MariaDB.",
  ];
  const parts = [...notes, "", main];
  if (flat.length > 0) {
    parts.push(
      "",
      `Peak RSS flatness (wide vs wide_small, 10x the rows; target <= ${RSS_FLATNESS_TARGET}x):`,
      table(
        [
          "engine",
          "format",
          "small rows",
          "large rows",
          "small MB",
          "large MB",
          "ratio",
          "verdict",
        ],
        flat.map((f) => [
          f.engine,
          f.format,
          grouped(f.smallRows),
          grouped(f.largeRows),
          f.smallPeakRssMb.toFixed(0),
          f.largePeakRssMb.toFixed(0),
          f.ratio.toFixed(2),
          f.verdict,
        ]),
      ),
    );
  }
  return parts.join("\n");
}

/** One dataset on one engine as measured: the source's figures and its size as text. */
export interface SourceRecord {
  dataset: DatasetName;
  engine: Engine;
  /** See {@link SOURCE_BYTES}. */
  sourceBytes: number;
  facts: SourceFacts;
}

/** Everything a result file holds. */
export interface ResultFile {
  startedAt: string;
  finishedAt: string;
  options: Record<string, unknown>;
  machine: MachineInfo;
  sourceBytes: string;
  datasets: SourceRecord[];
  results: Summary[];
  flatness: Flatness[];
  correct: boolean;
}

/** `bench/results/<YYYY-MM-DD>T<HHMMSS>.json` (UTC) for a bench started at `started`. */
export function resultPath(root: string, started: Date): string {
  const stamp = started.toISOString().slice(0, 19).replaceAll(":", "");
  return join(root, "bench", "results", `${stamp}.json`);
}

/** Writes `result` to `path`, creating the results directory. */
export async function writeResult(path: string, result: ResultFile): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(result, null, 2) + "\n");
}
