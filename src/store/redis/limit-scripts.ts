/**
 * The Lua scripts behind the Redis limit counters; each runs atomically on the server. A
 * reservation also records what it took in its process's lease record (a hash per tenant and
 * process, `{acme}:leases:PROCESS`, in the tenant's slot), so that when the process dies a
 * survivor can give it all back (`sweep`), and settlement deletes that entry.
 */

/**
 * KEYS: counters, then this process's lease record for the tenant. ARGV: the packed spec
 * (counter-specs.ts: `kind,limit,expiresAt;` per counter, kind `w` window, `s` budget that must
 * exist (seeded from the ledger), `c` concurrency), the lease, now, one number per counter (a
 * window's amount, a concurrency lease's expiry). Returns {ok (1; 0 refused; 2 unseeded), failed index (1-based), values...}: after
 * adding when ok, as found when refused. Integers travel as the strings they came in, since Lua
 * would print a large number as 1e+15.
 *
 * Windows are added to first and checked after (INCRBY answers the new value), and taken back
 * where a later counter refuses: one command per window where a GET before every INCRBY cost
 * two, and a refusal, rarer, pays for the undo. Every window counter has an expiry (made here
 * with one, or seeded with one), so a value equal to the amount with no expiry is a counter
 * INCRBY just made: a budget that must be seeded first is deleted again and answers unseeded, a
 * window gets its expiry (read from the spec only then: most requests make none). Lapsed
 * concurrency leases are dropped where they could matter, at the limit, as in process; until
 * then a value may count one. The script is atomic, so no one sees the undone additions. The lease
 * record's text (`w AMOUNT KEY` or `c 0 KEY` per line, as the sweep reads it) is joined once
 * from the pieces, with no string made per line.
 */
export const reserveScript = `
local n = #KEYS - 1
local kinds, limits = {}, {}
local i = 0
for kind, limit in string.gmatch(ARGV[1], '(%a),(%-?%d+),%d+;') do
  i = i + 1
  kinds[i] = kind
  limits[i] = tonumber(limit)
end
local lease = ARGV[2]
local now = ARGV[3]
local amounts = {}
i = 0
for amount in string.gmatch(ARGV[4], '[^,]+') do
  i = i + 1
  amounts[i] = amount
end
local values = {}
local made = {}
local failed = 0
local code = 0
for i = 1, n do
  local key = KEYS[i]
  if kinds[i] == 'c' then
    local current = redis.call('ZCARD', key)
    if current + 1 > limits[i] then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
      current = redis.call('ZCARD', key)
    end
    values[i] = current
    if current + 1 > limits[i] then
      failed = i
      break
    end
  else
    local amount = tonumber(amounts[i])
    local value = redis.call('INCRBY', key, amounts[i])
    if value == amount and redis.call('PTTL', key) == -1 then
      made[i] = true
      if kinds[i] == 's' then
        failed = i
        code = 2
        break
      end
      local field = 0
      for expiresAt in string.gmatch(ARGV[1], '%a,%-?%d+,(%d+);') do
        field = field + 1
        if field == i then
          redis.call('PEXPIREAT', key, expiresAt)
          break
        end
      end
    end
    values[i] = value
    if value > limits[i] then
      values[i] = value - amount
      failed = i
      break
    end
  end
end
if failed > 0 then
  for j = 1, failed do
    if kinds[j] ~= 'c' then
      if made[j] then
        redis.call('DEL', KEYS[j])
      elseif j < failed or code == 0 then
        redis.call('DECRBY', KEYS[j], amounts[j])
      end
      if j < failed then values[j] = values[j] - tonumber(amounts[j]) end
    end
  end
  return {code, failed, unpack(values)}
end
local record = {}
local r = 0
for i = 1, n do
  local key = KEYS[i]
  if kinds[i] == 'c' then
    values[i] = values[i] + redis.call('ZADD', key, amounts[i], lease)
    local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    redis.call('PEXPIREAT', key, latest[2])
    record[r + 1] = 'c 0 '
    record[r + 2] = key
    record[r + 3] = '\\n'
    r = r + 3
  elseif amounts[i] ~= '0' then
    record[r + 1] = 'w '
    record[r + 2] = amounts[i]
    record[r + 3] = ' '
    record[r + 4] = key
    record[r + 5] = '\\n'
    r = r + 5
  end
end
if r > 0 then redis.call('HSET', KEYS[n + 1], lease, table.concat(record, '', 1, r - 1)) end
return {1, 0, unpack(values)}
`;

/**
 * KEYS: window counters, then concurrency counters, then the lease record. ARGV: lease, number
 * of window counters, their `delta:used` packed as `d1:u1,d2:u2,...`. Where the record no longer
 * holds the lease (a survivor swept it, taking this process for dead), the reservation was
 * already given back, so what was used is charged whole instead of the difference. A counter
 * that no longer exists (its window ended) stays absent: every counter has an expiry, so one
 * that INCRBY made (the value is the change, and there is no expiry) is deleted again, which
 * costs a command where it happens instead of an EXISTS before every INCRBY.
 */
export const settleScript = `
local windows = tonumber(ARGV[2])
local held = redis.call('HDEL', KEYS[#KEYS], ARGV[1]) == 1
local i = 0
for delta, used in string.gmatch(ARGV[3], '([^:,]+):([^:,]+)') do
  i = i + 1
  local change = delta
  if not held then change = used end
  if i <= windows and change ~= '0' then
    local value = redis.call('INCRBY', KEYS[i], change)
    if value == tonumber(change) and redis.call('PTTL', KEYS[i]) == -1 then redis.call('DEL', KEYS[i]) end
  end
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
