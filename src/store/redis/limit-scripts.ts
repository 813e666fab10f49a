/**
 * The Lua scripts behind the Redis limit counters; each runs atomically on the server. A
 * reservation also records what it took in its process's lease record (a hash per tenant and
 * process, `{acme}:leases:PROCESS`, in the tenant's slot), so that when the process dies a
 * survivor can give it all back (`sweep`), and settlement deletes that entry.
 */

/**
 * KEYS: counters, then the lease record. ARGV: now, lease, and one packed string
 * `kind,limit,amount,expiresAt;...` per counter in order (kind w: window, s: window that must
 * exist (a budget, seeded from the ledger), c: concurrency): one argument instead of four per key
 * halves the client's cost per call. Returns {ok (1; 0 refused; 2 unseeded), failed index
 * (1-based), values...}.
 * Integers travel as the strings they came in, since Lua would print a large number as 1e+15.
 */
export const reserveScript = `
local now = tonumber(ARGV[1])
local lease = ARGV[2]
local counters = #KEYS - 1
local specs = {}
for kind, limit, amount, expires in string.gmatch(ARGV[3], '([wsc]),([^,;]+),([^,;]+),([^,;]+)') do
  specs[#specs + 1] = {kind, tonumber(limit), amount, expires}
end
local values = {}
for i = 1, counters do
  local spec = specs[i]
  local current
  if spec[1] ~= 'c' then
    local raw = redis.call('GET', KEYS[i])
    if not raw and spec[1] == 's' then return {2, i, unpack(values)} end
    current = tonumber(raw or '0')
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    current = redis.call('ZCARD', KEYS[i])
  end
  values[i] = current
  if current + tonumber(spec[3]) > spec[2] then
    return {0, i, unpack(values)}
  end
end
local record = {}
for i = 1, counters do
  local spec = specs[i]
  if spec[1] ~= 'c' then
    values[i] = redis.call('INCRBY', KEYS[i], spec[3])
    redis.call('PEXPIREAT', KEYS[i], spec[4])
    if spec[3] ~= '0' then record[#record + 1] = 'w ' .. spec[3] .. ' ' .. KEYS[i] end
  else
    redis.call('ZADD', KEYS[i], spec[4], lease)
    local latest = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
    redis.call('PEXPIREAT', KEYS[i], latest[2])
    values[i] = redis.call('ZCARD', KEYS[i])
    record[#record + 1] = 'c 0 ' .. KEYS[i]
  end
end
if #record > 0 then redis.call('HSET', KEYS[#KEYS], lease, table.concat(record, '\\n')) end
return {1, 0, unpack(values)}
`;

/**
 * KEYS: window counters, then concurrency counters, then the lease record. ARGV: lease, number
 * of window counters, their `delta:used` packed as `d1:u1,d2:u2,...`. Where the record no longer
 * holds the lease (a survivor swept it, taking this process for dead), the reservation was
 * already given back, so what was used is charged whole instead of the difference.
 */
export const settleScript = `
local windows = tonumber(ARGV[2])
local held = redis.call('HDEL', KEYS[#KEYS], ARGV[1]) == 1
local i = 0
for delta, used in string.gmatch(ARGV[3], '([^:,]+):([^:,]+)') do
  i = i + 1
  local change = delta
  if not held then change = used end
  if i <= windows and change ~= '0' and redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], change) end
end
for j = windows + 1, #KEYS - 1 do redis.call('ZREM', KEYS[j], ARGV[1]) end
return 0
`;

/** KEYS: counters. ARGV: now. Windows read as integers, concurrency as live leases. */
export const readScript = `
local values = {}
for i = 1, #KEYS do
  if redis.call('TYPE', KEYS[i])['ok'] == 'zset' then
    values[i] = redis.call('ZCOUNT', KEYS[i], '(' .. ARGV[1], '+inf')
  else
    values[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
end
return values
`;

/**
 * KEYS: one lease record of a dead process. Gives back every reservation in it (window amounts
 * off counters that still exist, concurrency leases removed) and deletes it. Returns the number
 * of leases released.
 */
export const sweepScript = `
local entries = redis.call('HGETALL', KEYS[1])
local released = 0
for i = 1, #entries, 2 do
  local lease = entries[i]
  released = released + 1
  for kind, amount, key in string.gmatch(entries[i + 1], '(%a) (%-?%d+) ([^\\n]+)') do
    if kind == 'c' then
      redis.call('ZREM', key, lease)
    elseif redis.call('EXISTS', key) == 1 then
      redis.call('DECRBY', key, amount)
    end
  end
end
redis.call('DEL', KEYS[1])
return released
`;

/** The scripts by name; loaded once, then called by their sha1 (a reply of NOSCRIPT reloads them). */
export const limitScripts = { reserve: reserveScript, settle: settleScript, read: readScript, sweep: sweepScript } as const;

/** A script's name. */
export type LimitScriptName = keyof typeof limitScripts;
