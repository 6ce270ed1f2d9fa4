/** Progress bars of long steps (cli-progress on stderr; plain lines when stderr is not a TTY). */
import cliProgress from "cli-progress";

/** A running progress bar. */
export interface Progress {
  /** Advances by `n` (default 1). */
  increment(n?: number): void;
  /** Finishes the bar (idempotent). */
  stop(): void;
}

/** Creates progress bars; `enabled: false` gives silent ones. */
export type ProgressFactory = (title: string, total: number, unit?: string) => Progress;

/**
 * Progress bars written to `stream` (default `process.stderr`, so stdout stays clean for the
 * summary and `--json`). Outside a TTY cli-progress prints one line per update interval
 * (`noTTYOutput`).
 */
export function createProgressFactory(options: { enabled?: boolean; stream?: NodeJS.WritableStream } = {}): ProgressFactory {
  if (options.enabled === false) {
    return () => ({ increment: () => undefined, stop: () => undefined });
  }
  const stream = options.stream ?? process.stderr;
  return (title, total, unit = "items") => {
    const bar = new cliProgress.SingleBar(
      {
        format: `${title.padEnd(28)} [{bar}] {percentage}% | {value}/{total} ${unit} | {duration_formatted}`,
        stream,
        noTTYOutput: true,
        notTTYSchedule: 1000,
        hideCursor: false,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, total), 0);
    let stopped = false;
    return {
      increment: (n = 1) => {
        if (!stopped) bar.increment(n);
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        bar.update(Math.max(1, total));
        bar.stop();
      },
    };
  };
}
