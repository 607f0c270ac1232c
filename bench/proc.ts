// What the operating system says about the processes under test: memory and CPU time, from /proc on Linux
// (with `ps` for memory elsewhere; CPU figures are then NaN and shown as n/a).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Resident set size of a process in MiB. */
export function rssMiB(pid: number): number {
  try {
    const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    if (Number.isFinite(kib)) return kib / 1024;
  } catch {
    // not Linux, or the process is gone: ask ps
  }
  return Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim()) / 1024;
}

let ticks: number | undefined;
/** Clock ticks per second, the unit of /proc CPU times (100 on practically every Linux). */
function ticksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU time (user + system, all threads) a process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields overall.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time every process on the machine has used so far (all cores; idle, I/O wait and steal excluded), in seconds.
 * Less what the processes under test used, it shows how much the rest of the machine took during a round.
 */
export function machineBusySeconds(): number {
  try {
    const [user, nice, system, , , irq, softirq] = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user! + nice! + system! + irq! + softirq!) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}
