"""The throttle's steps on the Redis server: each one atomic Lua script, timed by Redis.

One hash per throttle (``webex-campaign:{<name>}``, one Cluster slot) holds:

- ``ver``: the version of the shared rate state, bumped by every write of ``state``;
- ``state``: the rate law's state as JSON (written by `WRITE`, compare-and-set on ``ver``);
- ``tat``: the GCRA theoretical arrival time of the next send, in Redis seconds;
- ``paused``: until when every sender waits (a ``Retry-After`` the API meant for all);
- ``okf`` / ``ok``: the start of the current measurement window and the successful
  answers to requests sent since (processes pass the send times of theirs on each acquire
  and each 429 report; those sent before ``okf`` are not counted);
- ``cut``: when a write last lowered the rate or started a pause; a slot booked before it
  for a time after it is void (`RemoteState.confirm`);
- ``rb``, ``r0`` .. ``r9``: successful answers per 100 ms over the last second;
- ``origin`` / ``sent``: the first send and the sends since, for the rate while unlimited.
- ``tenant``: a fingerprint of the tenant (a hash, see `tenant_name`) when a process made
  with ``for_tenant`` uses it: another tenant's process is refused the name.

Times are formatted with six decimals (Lua's own ``tostring`` keeps 14 digits: 10 ms at
today's epoch). Every script refreshes the key's time to live.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "EARLY", "INIT", "READ", "WRITE"]

#: A slot booked ahead is checked again (void?) a round trip before its time, at most this
#: many seconds before: a pause or a decrease written later than that does not stop it.
EARLY = 0.05

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function fmt(x) return string.format('%.6f', x) end
"""

_RECENT = """
local function add_recent(key, now, n)
  local idx = math.floor(now * 10)
  local last = tonumber(redis.call('HGET', key, 'rb') or idx)
  if idx > last then
    for i = last + 1, math.min(idx, last + 10) do redis.call('HSET', key, 'r' .. (i % 10), 0) end
    redis.call('HSET', key, 'rb', idx)
  elseif idx < last then
    idx = last
  end
  redis.call('HINCRBY', key, 'r' .. (idx % 10), n)
end
"""

#: Adds the successes whose send times are ARGV[first] .. ARGV[#ARGV]: those sent after the
#: window's start count for the measurement; all count for the rate of the last second.
_ADD = """
local function add_successes(key, now, first)
  local n = #ARGV - first + 1
  if n <= 0 then return end
  local okf = redis.call('HGET', key, 'okf')
  local from = -math.huge
  if okf and okf ~= '-inf' then from = tonumber(okf) end
  local ok = 0
  for i = first, #ARGV do
    if tonumber(ARGV[i]) > from then ok = ok + 1 end
  end
  if ok > 0 then redis.call('HINCRBY', key, 'ok', ok) end
  add_recent(key, now, n)
end
"""

#: KEYS[1]; ARGV: rate ('' unlimited), burst, time to live, horizon (seconds), then the send
#: times of successful answers to add (see ``_ADD``).
#: Returns {'ok', now, wait, version}: send ``wait`` seconds after ``now`` (the slot is
#: booked); {'later', now, wait, version}: nothing booked, ask again in ``wait`` seconds (a
#: slot further than the horizon is not booked at today's rate: the rate may rise); or
#: {'none', now} when the state is gone (Redis restarted without it).
ACQUIRE = (
    _NOW
    + _RECENT
    + _ADD
    + """
local key = KEYS[1]
local ver = redis.call('HGET', key, 'ver')
if not ver then return {'none', fmt(now)} end
add_successes(key, now, 5)
redis.call('EXPIRE', key, ARGV[3])
if redis.call('HSETNX', key, 'origin', fmt(now)) == 1 then
  redis.call('HSET', key, 'rb', math.floor(now * 10))
end
local paused = tonumber(redis.call('HGET', key, 'paused') or '0')
local horizon = tonumber(ARGV[4])
if ARGV[1] == '' then
  if now < paused then
    if paused - now > horizon then return {'later', fmt(now), fmt(paused - now - horizon), ver} end
    redis.call('HINCRBY', key, 'sent', 1)
    return {'ok', fmt(now), fmt(paused - now), ver}
  end
  redis.call('HINCRBY', key, 'sent', 1)
  return {'ok', fmt(now), '0', ver}
end
local interval = 1 / tonumber(ARGV[1])
local tau = (tonumber(ARGV[2]) - 1) * interval
local tat = tonumber(redis.call('HGET', key, 'tat') or '0')
if tat < paused + tau then tat = paused + tau end  -- nothing accrues during a pause
local at = math.max(now, tat - tau)
if at - now > horizon then return {'later', fmt(now), fmt(at - now - horizon), ver} end
redis.call('HSET', key, 'tat', fmt(math.max(tat, at) + interval))
redis.call('HINCRBY', key, 'sent', 1)
return {'ok', fmt(now), fmt(at - now), ver}
"""
)

#: KEYS[1]; ARGV: the initial state JSON, its window start, time to live, the tenant's
#: fingerprint ('' none). Creates the throttle's state unless it exists, and stamps it with
#: the fingerprint unless it has one. Returns {created (0/1), now, the fingerprint it has}.
INIT = (
    _NOW
    + """
local key = KEYS[1]
local created = 0
if redis.call('HSETNX', key, 'ver', 1) == 1 then
  redis.call('HSET', key, 'state', ARGV[1], 'okf', ARGV[2], 'ok', 0, 'paused', 0, 'tat', 0,
             'sent', 0)
  created = 1
end
if ARGV[4] ~= '' then redis.call('HSETNX', key, 'tenant', ARGV[4]) end
redis.call('EXPIRE', key, ARGV[3])
return {created, fmt(now), redis.call('HGET', key, 'tenant') or ''}
"""
)

#: KEYS[1]; ARGV: the send times of successful answers to add first (see ``_ADD``; only if
#: the state exists). Returns {now, ver, state, okf, ok, paused, origin, sent, rb, r0 .. r9}.
READ = (
    _NOW
    + _RECENT
    + _ADD
    + """
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then add_successes(key, now, 1) end
local v = redis.call('HMGET', key, 'ver', 'state', 'okf', 'ok', 'paused', 'origin', 'sent',
                     'rb', 'r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9')
local out = {fmt(now)}
for i = 1, #v do out[i + 1] = v[i] or '' end
return out
"""
)

#: KEYS[1]; ARGV: the version the new state was computed from, the state JSON, paused
#: until, the window start (a new one resets the count), the bucket to empty ('' or the
#: seconds of burst to take away from now: a decrease), time to live.
#: A decrease or a pause that starts (or grows) is a ``cut``: the schedule starts again
#: from it (the empty bucket after the slots of the next `EARLY` seconds, or the end of
#: the pause), and the slots booked before it for later are void.
#: Returns {'ok', new version} or {'stale', version}.
WRITE = (
    _NOW
    + f"""
local EARLY = {EARLY!r}"""
    + """
local key = KEYS[1]
local ver = redis.call('HGET', key, 'ver')
if ver ~= ARGV[1] then return {'stale', ver or ''} end
local was_paused = tonumber(redis.call('HGET', key, 'paused') or '0')
redis.call('HSET', key, 'state', ARGV[2], 'paused', ARGV[3])
if redis.call('HGET', key, 'okf') ~= ARGV[4] then
  redis.call('HSET', key, 'okf', ARGV[4], 'ok', 0)
end
local cut = false
if ARGV[5] ~= '' then  -- the slots of the next EARLY seconds may be checked already: kept
  local tat = tonumber(redis.call('HGET', key, 'tat') or '0')
  local kept = math.min(tat, now + EARLY)
  redis.call('HSET', key, 'tat', fmt(math.max(now + tonumber(ARGV[5]), kept)))
  cut = true
end
if tonumber(ARGV[3]) > was_paused then
  if not cut then redis.call('HSET', key, 'tat', 0) end  -- ACQUIRE starts it at the pause's end
  cut = true
end
if cut then redis.call('HSET', key, 'cut', fmt(now)) end
local new = redis.call('HINCRBY', key, 'ver', 1)
redis.call('EXPIRE', key, ARGV[6])
return {'ok', tostring(new)}
"""
)
