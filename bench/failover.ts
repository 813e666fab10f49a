/**
 * Takeover time and lost requests over repeated SIGKILLs of the leader (issue 25): the rig of
 * test/control-plane-failover.test.ts (three control planes on PostgreSQL behind haproxy, three
 * workers, a deployment of three replicas of stories260K), then `--runs N` rounds of 50 concurrent
 * streams through haproxy with the leader SIGKILLed mid-way; after each round the killed control
 * plane is started again on its port. Prints each round and the medians, with the load average.
 *
 *   npm run build && npx tsx bench/failover.ts --runs 5 [--streams 50] [--heartbeat-ms 1000]
 *
 * Needs PostgreSQL at 127.0.0.1:5432, Mosquitto at 1883 and haproxy (apt-get install -y haproxy).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { failoverRound, replaceKilled, startHaRig } from '../test/support/ha-rig.js';
import { benchModelPath } from './support.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, streams: { type: 'string', default: '50' }, 'heartbeat-ms': { type: 'string', default: '1000' } },
});
const runs = Number(values.runs);
const streams = Number(values.streams);
const heartbeatMs = Number(values['heartbeat-ms']);

const median = (numbers: number[]): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');

console.log(`failover: ${runs} run(s), ${streams} streams each, heartbeat ${heartbeatMs} ms; load average at start ${load()}`);
const rig = await startHaRig(heartbeatMs, benchModelPath());
const rounds = [];
try {
  for (let run = 1; run <= runs; run += 1) {
    const round = await failoverRound(rig, run, streams);
    rounds.push(round);
    console.log(
      `run ${run}: killed p${round.killed}; takeover ${round.takeoverMs} ms (${(round.takeoverMs / heartbeatMs).toFixed(2)} heartbeats); ` +
        `${round.throughKilled} streams through it, ${round.cut} cut (${round.cutThroughSurvivors} through survivors); ` +
        `retried ${round.retriedAnswered}/${round.retried} answered; new deployment placed in ${round.placedMs} ms; load ${load()}`,
    );
    if (run < runs) await replaceKilled(rig, round.killed);
  }
} finally {
  await rig.close();
}
console.log(
  `medians over ${rounds.length} run(s): takeover ${median(rounds.map((round) => round.takeoverMs))} ms ` +
    `(max ${Math.max(...rounds.map((round) => round.takeoverMs))}); cut ${median(rounds.map((round) => round.cut))} of ${streams} ` +
    `(all through the killed control plane: ${rounds.every((round) => round.cutThroughSurvivors === 0)}); ` +
    `lost after one retry ${median(rounds.map((round) => round.retried - round.retriedAnswered))}; ` +
    `placed after the kill ${median(rounds.map((round) => round.placedMs))} ms; load at end ${load()}`,
);
console.log(`cut per run (clients of the killed control plane, who saw the connection break): ${rounds.map((round) => round.cut).join(', ')}`);
