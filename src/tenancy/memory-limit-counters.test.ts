import { runLimitCountersContract } from './limit-counters-contract.js';
import { MemoryLimitCounters } from './memory-limit-counters.js';

runLimitCountersContract('in-process', async () => new MemoryLimitCounters());
