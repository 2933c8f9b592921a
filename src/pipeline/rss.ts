/**
 * Peak resident memory of the process during an export, sampled in the background.
 *
 * @module
 */

const SAMPLE_EVERY_MS = 100;

/** Samples RSS until stopped; `stop()` returns the largest sample seen. */
export class RssSampler {
  private peak = Deno.memoryUsage().rss;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor() {
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
  }

  /** Takes one sample now (also on `stop`, so an export shorter than one interval is measured). */
  private sample(): void {
    const rss = Deno.memoryUsage().rss;
    if (rss > this.peak) this.peak = rss;
  }

  /** Stops sampling and returns the peak in MiB. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return Math.round(this.peak / (1024 * 1024));
  }
}
