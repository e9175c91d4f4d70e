// Shared by the benchmarks: run a command repeatedly, collect wall time and peak memory,
// summarise as median and spread. Peak memory comes from GNU time (%M: max resident set of the
// process and the children it waited for), when the machine has /usr/bin/time.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

export function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
}

/** The load average (1, 5, 15 min), printed beside every figure: the load generator shares these cores. */
export function loadAverage() {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Runs `command args` once; returns { ms, rssMb } or throws with its output when it fails. */
export function runOnce(command, args, { cwd, env, allowFailure = false } = {}) {
  const rssFile = join(tmpdir(), `valet-bench-rss-${process.pid}`);
  const [bin, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%M', '-o', rssFile, command, ...args]] : [command, args];
  const started = process.hrtime.bigint();
  const result = spawnSync(bin, argv, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0 && !allowFailure) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  }
  let rssMb = null;
  if (GNU_TIME && existsSync(rssFile)) {
    rssMb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
    rmSync(rssFile, { force: true });
  }
  return { ms, rssMb };
}

/** `warmup` unmeasured runs, then `runs` measured ones; `before` runs ahead of each. */
export function measure(command, args, { runs = 7, warmup = 1, before, ...options } = {}) {
  for (let i = 0; i < warmup; i++) {
    before?.();
    runOnce(command, args, options);
  }
  const samples = [];
  for (let i = 0; i < runs; i++) {
    before?.();
    samples.push(runOnce(command, args, options));
  }
  return summarise(samples);
}

/**
 * Several commands measured interleaved (A B C A B C …), so load that comes and goes falls on
 * each alike; `warmup` unmeasured rounds first. Each entry: { command, args, before?, ...options }.
 * Returns one summary per entry, in order.
 */
export function measureInterleaved(entries, { runs = 7, warmup = 1 } = {}) {
  const samples = entries.map(() => []);
  for (let round = 0; round < warmup + runs; round++) {
    entries.forEach(({ command, args, before, ...options }, i) => {
      before?.();
      const sample = runOnce(command, args, options);
      if (round >= warmup) samples[i].push(sample);
    });
  }
  return samples.map(summarise);
}

function quantile(sorted, q) {
  const index = (sorted.length - 1) * q;
  const low = Math.floor(index);
  const high = Math.ceil(index);
  return sorted[low] + (sorted[high] - sorted[low]) * (index - low);
}

export function summarise(samples) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const rss = samples
    .map((s) => s.rssMb)
    .filter((x) => x !== null)
    .sort((a, b) => a - b);
  return {
    runs: samples.length,
    medianMs: quantile(ms, 0.5),
    minMs: ms[0],
    maxMs: ms[ms.length - 1],
    p25Ms: quantile(ms, 0.25),
    p75Ms: quantile(ms, 0.75),
    peakRssMb: rss.length ? quantile(rss, 0.5) : null,
  };
}

export function formatRow(label, s) {
  const rss = s.peakRssMb === null ? 'n/a' : `${s.peakRssMb.toFixed(0)} MB`;
  return `${label.padEnd(34)} median ${s.medianMs.toFixed(0).padStart(5)} ms   IQR ${s.p25Ms.toFixed(0)}–${s.p75Ms.toFixed(0)} ms   range ${s.minMs.toFixed(0)}–${s.maxMs.toFixed(0)} ms   peak RSS ${rss}   (n=${s.runs})`;
}
