#!lua name=keymux
-- The atomic parts of keymux's shared state (Redis 7 FUNCTION library, loaded
-- with FUNCTION LOAD REPLACE by every agent on every connect; the agent embeds
-- this file at build time).
--
-- Per upstream key K, under the agent's prefix P (hash tag {K}):
--   P{K}:g  sorted set: grant id -> the last moment (Redis time, ms) a spend
--           of it can happen (its "spend end")
--   P{K}:a  hash: grant id -> "requests tokens granted_ms"; sr, st: the
--           sums; seq: the last grant id (starts at the time in ms * 1000,
--           so ids never repeat after Redis lost its data)
-- A grant counts in the log until one window after its spend end. A node
-- spends a slice only for `lifetime` after it asked for it (asked <= granted),
-- so a fresh grant ends at granted + lifetime; once the node closes the slice
-- (spent, or its lifetime over) it tells how long after its ask the last
-- spend came, by its own clock, and the end moves to granted + that (never
-- later). Every spend in a window then lies before the end of its grant, and
-- the grant that came last among that window's was checked against a log that
-- still held all of them: together the nodes never exceed a limit in any
-- window. What a node spent alone (degraded) and charges are recorded with
-- the end at the time spent.
-- P epoch: a random marker set once; when it is gone or changed, Redis lost
-- its data and every node records its own live grants again (replay).

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Numbers go to Redis as integer strings: Lua would write 1e15 as
-- "1e+15" and minus zero as "-0", which Redis refuses as integers.
local function int(x)
  return string.format('%d', x)
end

-- A grant's requests, tokens and Redis time of the grant (nil: gone; the
-- time is nil for an entry an older library wrote: it is never shortened).
local function amounts(a, id)
  local v = redis.call('HGET', a, id)
  if not v then return nil end
  local r, t, at = string.match(v, '^(%d+) (%d+) ?(%d*)$')
  return tonumber(r), tonumber(t), tonumber(at)
end

-- The spend end of what a node measured as `spent_ms` after `from_ms` (both
-- as near as it can tell, by its own clock): 0.1% for the clocks' rates, and
-- 50 ms for the rounding to ms and the way from the gateway's decision to
-- the upstream: the upstream counts a request when it arrives, the node when
-- it decided, and on a loaded host the one before a window's end may take
-- tens of ms longer than the first one after it (seen: 40 ms on 2 shared
-- cores). At saturation this costs 50 ms of each window's worth.
local HOP_MS = 50
local function spend_end(from_ms, spent_ms)
  return from_ms + spent_ms + math.ceil(spent_ms / 1000) + HOP_MS
end

-- Grants whose spend end is a whole window ago no longer count.
local function expire(z, a, now, window)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', int(now - window))
  for _, id in ipairs(old) do
    local r, t = amounts(a, id)
    if r then
      redis.call('HINCRBY', a, 'sr', int(0 - r))
      redis.call('HINCRBY', a, 'st', int(0 - t))
      redis.call('HDEL', a, id)
    end
  end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', z, '-inf', int(now - window)) end
end

local function sums(a)
  return tonumber(redis.call('HGET', a, 'sr') or '0'), tonumber(redis.call('HGET', a, 'st') or '0')
end

local function next_id(a, now)
  if redis.call('HEXISTS', a, 'seq') == 0 then redis.call('HSET', a, 'seq', int(now * 1000)) end
  return int(redis.call('HINCRBY', a, 'seq', 1))
end

-- `keep_ms`: window + lifetime, past which nothing recorded now counts.
local function record(z, a, id, at, spent_until, r, t, keep_ms)
  redis.call('ZADD', z, int(spent_until), id)
  redis.call('HSET', a, id, int(r) .. ' ' .. int(t) .. ' ' .. int(at))
  redis.call('HINCRBY', a, 'sr', int(r))
  redis.call('HINCRBY', a, 'st', int(t))
  redis.call('PEXPIRE', z, int(keep_ms + 1000))
  redis.call('PEXPIRE', a, int(keep_ms + 1000))
end

-- The epoch the caller knows is still Redis's.
local function epoch_ok(epoch_key, epoch)
  local e = redis.call('GET', epoch_key)
  return e and e == epoch
end

-- Redis's time, the log's stale grants gone, and how long what is recorded
-- now may count (window_ms + lifetime_ms).
local function open_log(keys, window_ms, lifetime_ms)
  local now = now_ms()
  local window = tonumber(window_ms)
  expire(keys[1], keys[2], now, window)
  return now, window + tonumber(lifetime_ms)
end

-- KEYS: g, a, epoch. ARGV: epoch, rpm, tpm, window_ms, lifetime_ms,
-- ask_requests, ask_tokens (0: that dimension has no limit), [min_tokens: a
-- token slice smaller than this is of no use: the request waiting for it
-- costs that much].
-- Returns {'ok', id, requests, tokens} (0, 0, 0 when nothing fits) or
-- {'epoch'} when Redis lost its data (replay, then ask again).
local function grant(keys, args)
  if not epoch_ok(keys[3], args[1]) then return {'epoch'} end
  local rpm, tpm = tonumber(args[2]), tonumber(args[3])
  local ask_r, ask_t = tonumber(args[6]), tonumber(args[7])
  local now, keep = open_log(keys, args[4], args[5])
  local sr, st = sums(keys[2])
  local r, t = 0, 0
  if rpm > 0 then r = math.max(0, math.min(ask_r, rpm - sr)) end
  if tpm > 0 then t = math.max(0, math.min(ask_t, tpm - st)) end
  local min_t = math.max(1, math.min(tonumber(args[8] or '0'), tpm))
  -- A slice is of no use without both of its limited dimensions.
  if (rpm > 0 and r == 0) or (tpm > 0 and t < min_t) then return {'ok', 0, 0, 0} end
  local id = next_id(keys[2], now)
  record(keys[1], keys[2], id, now, spend_end(now, tonumber(args[5])), r, t, keep)
  return {'ok', tonumber(id), r, t}
end

-- KEYS: g, a. ARGV: id, requests, tokens, [spent_ms]. Unused units of a
-- grant go back. With spent_ms the node closed the slice: it spent nothing
-- of it later than spent_ms after it asked for it (by its own clock), so the
-- grant counts only until a window after that (the end only ever moves
-- earlier). A grant left with nothing leaves the log.
local function give_back(keys, args)
  local id = args[1]
  local r, t, at = amounts(keys[2], id)
  if not r then return 0 end  -- expired or lost: nothing counts any more
  local back_r = math.min(r, tonumber(args[2]))
  local back_t = math.min(t, tonumber(args[3]))
  redis.call('HINCRBY', keys[2], 'sr', int(0 - back_r))
  redis.call('HINCRBY', keys[2], 'st', int(0 - back_t))
  if r == back_r and t == back_t then
    redis.call('HDEL', keys[2], id)
    redis.call('ZREM', keys[1], id)
    return 1
  end
  if not at then  -- an older library's entry
    redis.call('HSET', keys[2], id, int(r - back_r) .. ' ' .. int(t - back_t))
    return 1
  end
  redis.call('HSET', keys[2], id, int(r - back_r) .. ' ' .. int(t - back_t) .. ' ' .. int(at))
  local cur = redis.call('ZSCORE', keys[1], id)
  if args[4] and cur then
    local closed_end = spend_end(at, tonumber(args[4]))
    if closed_end < tonumber(cur) then redis.call('ZADD', keys[1], int(closed_end), id) end
  end
  return 1
end

-- KEYS: g, a, epoch. ARGV: epoch, window_ms, lifetime_ms, tokens. Tokens used
-- beyond what was reserved: recorded without a check (they were spent, by now).
local function charge(keys, args)
  if not epoch_ok(keys[3], args[1]) then return {'epoch'} end
  local now, keep = open_log(keys, args[2], args[3])
  local id = next_id(keys[2], now)
  record(keys[1], keys[2], id, now, spend_end(now, 0), 0, tonumber(args[4]), keep)
  return {'ok', tonumber(id)}
end

-- KEYS: g, a. ARGV: window_ms, lifetime_ms, then (id, age_ms, spent_ms,
-- requests, tokens) per grant. A node's own grants that still count, after
-- Redis lost its data, at the time they were granted (as near as the node
-- can tell: age_ms since it asked), spent within spent_ms of that (the
-- lifetime while the slice is open), with what of them it spent or may spend.
local function replay(keys, args)
  local now, keep = open_log(keys, args[1], args[2])
  local window = tonumber(args[1])
  local n = 0
  for i = 3, #args, 5 do
    local id = args[i]
    local at = now - tonumber(args[i + 1])
    local spent_until = spend_end(at, tonumber(args[i + 2]))
    if redis.call('HEXISTS', keys[2], id) == 0 and spent_until > now - window then
      record(keys[1], keys[2], id, at, spent_until, tonumber(args[i + 3]), tonumber(args[i + 4]),
             keep)
      n = n + 1
    end
    if tonumber(redis.call('HGET', keys[2], 'seq') or '0') < tonumber(id) then
      redis.call('HSET', keys[2], 'seq', id)
    end
  end
  return n
end

-- KEYS: g, a. ARGV: window_ms, lifetime_ms, then (age_ms, requests, tokens)
-- per batch. What a node spent on its own while Redis did not answer
-- (degraded), recorded as grants spent age_ms ago (the batch's last spend),
-- without a check (it was spent), so grants after a recovery keep the
-- window. Batches a window old no longer count. Returns how many were recorded.
local function record_spent(keys, args)
  local now, keep = open_log(keys, args[1], args[2])
  local window = tonumber(args[1])
  local n = 0
  for i = 3, #args, 3 do
    local at = now - tonumber(args[i])
    local spent_until = spend_end(at, 0)
    if spent_until > now - window then
      record(keys[1], keys[2], next_id(keys[2], now), at, spent_until, tonumber(args[i + 1]),
             tonumber(args[i + 2]), keep)
      n = n + 1
    end
  end
  return n
end

-- KEYS: g, a. ARGV: window_ms, lifetime_ms. What the log holds: {requests, tokens}.
local function usage(keys, args)
  open_log(keys, args[1], args[2])
  local sr, st = sums(keys[2])
  return {sr, st}
end

-- KEYS: epoch. ARGV: a fresh random marker. Returns the epoch in force.
local function epoch(keys, args)
  redis.call('SET', keys[1], args[1], 'NX')
  return redis.call('GET', keys[1])
end

-- KEYS: members. ARGV: node, ttl_ms. Returns the live nodes' names.
local function heartbeat(keys, args)
  local now = now_ms()
  redis.call('ZADD', keys[1], int(now), args[1])
  redis.call('ZREMRANGEBYSCORE', keys[1], '-inf', int(now - tonumber(args[2])))
  redis.call('PEXPIRE', keys[1], int(tonumber(args[2]) * 2))
  return redis.call('ZRANGE', keys[1], 0, -1)
end

-- KEYS: cooldowns (hash key id -> "until_ms cause"), or ejections (the same,
-- cause 'ejected'; of providers: name -> "until_ms provider_ejected"). ARGV: channel, key id, until_ms (wall clock), cause. The later deadline wins, never a shorter one;
-- a lengthened deadline is published. Returns the deadline in force.
local function cooldown(keys, args)
  local key_id, until_ms, cause = args[2], tonumber(args[3]), args[4]
  local cur = redis.call('HGET', keys[1], key_id)
  if cur then
    local cur_until = tonumber(string.match(cur, '^(%d+)'))
    if cur_until >= until_ms then return cur_until end
  end
  redis.call('HSET', keys[1], key_id, int(until_ms) .. ' ' .. cause)
  redis.call('PUBLISH', args[1], 'cool ' .. key_id .. ' ' .. int(until_ms) .. ' ' .. cause)
  return until_ms
end

-- KEYS: standing (hash key id -> reason, for quarantined keys), cooldowns,
-- and (optional) ejections.
-- ARGV: channel, key id, 'quarantine' or 'enable', reason. Published either
-- way. An operator's enable also ends a cooldown (the one shortening allowed).
local function standing(keys, args)
  local key_id = args[2]
  if args[3] == 'quarantine' then
    redis.call('HSET', keys[1], key_id, args[4])
    redis.call('PUBLISH', args[1], 'quarantine ' .. key_id .. ' ' .. args[4])
  else
    redis.call('HDEL', keys[1], key_id)
    redis.call('HDEL', keys[2], key_id)
    if keys[3] then redis.call('HDEL', keys[3], key_id) end
    redis.call('PUBLISH', args[1], 'enable ' .. key_id)
  end
  return 1
end

redis.register_function('keymux_grant', grant)
redis.register_function('keymux_give_back', give_back)
redis.register_function('keymux_charge', charge)
redis.register_function('keymux_replay', replay)
redis.register_function('keymux_record', record_spent)
redis.register_function('keymux_usage', usage)
redis.register_function('keymux_epoch', epoch)
redis.register_function('keymux_heartbeat', heartbeat)
redis.register_function('keymux_cooldown', cooldown)
redis.register_function('keymux_standing', standing)
