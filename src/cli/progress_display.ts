/**
 * Where `rivet run` shows progress, always on stderr (stdout may carry a file): on a terminal a
 * live line redrawn a few times a second, erased before any log line and when the export ends;
 * otherwise a plain `info` log line every 10 seconds, so a short run prints none. `--quiet`, or a
 * log level above `info`, shows neither.
 *
 * @module
 */
import type { EventListener } from "../pipeline/events.ts";
import { enabled, log, setBeforeLog } from "../util/log.ts";
import { printErr } from "./output.ts";
import { formatProgress, liveLine, ProgressTracker } from "./progress.ts";

/** How often the live line is redrawn. */
const LIVE_EVERY_MS = 250;

/** How often a plain progress line is logged when stderr is not a terminal. */
const PLAIN_EVERY_MS = 10_000;

/** Carriage return, then erase the whole row: the cursor is back at its start. */
const ERASE_LINE = "\r\x1b[2K";

/** `live` on a terminal, `plain` log lines elsewhere, `off` when silenced. */
export type ProgressStyle = "live" | "plain" | "off";

/**
 * The style for this process: `off` with `--quiet` or a log level above `info`, else `live`
 * when stderr is a terminal and `plain` when it is a file or a pipe.
 */
export function progressStyle(quiet: boolean): ProgressStyle {
  if (quiet || !enabled("info")) return "off";
  return Deno.stderr.isTerminal() ? "live" : "plain";
}

/** Shows a run's progress in one style until stopped. */
export class ProgressDisplay {
  readonly #style: ProgressStyle;
  readonly #tracker = new ProgressTracker();
  #timer: ReturnType<typeof setInterval> | undefined;
  #drawn = false;

  /** A display in `style`; `off` listens and shows nothing. */
  constructor(style: ProgressStyle) {
    this.#style = style;
    if (style === "live") setBeforeLog(() => this.#erase());
  }

  /** The subscriber to pass as `RunOptions.onEvent`. */
  readonly listener: EventListener = (event) => {
    if (this.#style === "off") return;
    this.#tracker.observe(event, performance.now());
    if (event.type === "started") this.#startTimer();
    if (event.type === "finished") {
      this.#stopTimer();
      // The summary is printed next, on the same terminal when stdout is one.
      this.#erase();
    }
  };

  /** Stops showing anything and leaves the terminal row clean. */
  stop(): void {
    this.#stopTimer();
    this.#erase();
    if (this.#style === "live") setBeforeLog(undefined);
  }

  #startTimer(): void {
    this.#stopTimer();
    const live = this.#style === "live";
    const timer = setInterval(
      () => live ? this.#draw() : this.#logLine(),
      live ? LIVE_EVERY_MS : PLAIN_EVERY_MS,
    );
    // Progress never keeps the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #draw(): void {
    const snapshot = this.#tracker.snapshot(performance.now());
    if (snapshot === undefined) return;
    printErr(ERASE_LINE + liveLine(snapshot, terminalColumns()));
    this.#drawn = true;
  }

  #erase(): void {
    if (!this.#drawn) return;
    this.#drawn = false;
    printErr(ERASE_LINE);
  }

  #logLine(): void {
    const snapshot = this.#tracker.snapshot(performance.now());
    if (snapshot !== undefined) {
      log.info(`export '${snapshot.exportName}': ${formatProgress(snapshot)}`);
    }
  }
}

/** The terminal's width, or 80 when it cannot be read (a pseudo-terminal may report 0). */
function terminalColumns(): number {
  try {
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : 80;
  } catch {
    return 80;
  }
}
