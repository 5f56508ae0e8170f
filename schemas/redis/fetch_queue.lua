#!lua
-- fetch_queue.lua: the durable queue of objects to fetch from Stripe, filled by thin
-- notifications and drained by the worker's fetcher. One entry per object, so repeated
-- notifications coalesce. Every key carries the hash tag {fetch}: one slot, atomic.
--
-- KEYS[1] due       sorted set: entry -> when it may be fetched next (unix ms)
-- KEYS[2] requests  hash: entry -> the request (JSON: url, context, related id and type)
-- KEYS[3] seq       hash: entry -> notifications since it was queued (a fetch that began
--                   before the last one does not complete the entry)
-- KEYS[4] since     sorted set: entry -> when it was first queued (unix ms), for the age metric
-- KEYS[5] attempts  hash: entry -> failed fetches in a row (the backoff)
-- KEYS[6] enqueue only: the notification's marker (string, NOTIFICATION_TTL seconds): a
--         notification delivered again (Stripe's retry, Kafka's redelivery) queues nothing
--
-- ARGV[1] op:
--   enqueue ENTRY REQUEST NOW_MS NOTIFICATION_TTL
--                                  -> the entry's seq (1: a new entry; more: coalesced); 0 when
--                                     this notification was queued before (a duplicate)
--   claim NOW_MS LEASE_MS N        -> flat {entry, request, seq, attempts}...: due entries,
--                                     their due moved LEASE_MS ahead (a lease, not a removal)
--   done ENTRY SEQ NOW_MS          -> 1 removed; 0 notified again since the claim: due now
--   retry ENTRY DUE_MS             -> failed attempts so far
local due, requests, seq, since, attempts = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op = ARGV[1]

if op == 'enqueue' then
  local entry, request, now = ARGV[2], ARGV[3], ARGV[4]
  if not redis.call('SET', KEYS[6], 'queued', 'NX', 'EX', ARGV[5]) then return 0 end
  redis.call('HSET', requests, entry, request)
  redis.call('ZADD', since, 'NX', now, entry)
  -- A new entry is due now; one waiting out a backoff or a lease keeps its time.
  redis.call('ZADD', due, 'NX', now, entry)
  return redis.call('HINCRBY', seq, entry, 1)
elseif op == 'claim' then
  local now, lease, n = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local entries = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, n)
  local out = {}
  for _, entry in ipairs(entries) do
    redis.call('ZADD', due, 'XX', now + lease, entry)
    out[#out + 1] = entry
    out[#out + 1] = redis.call('HGET', requests, entry) or ''
    out[#out + 1] = redis.call('HGET', seq, entry) or '0'
    out[#out + 1] = redis.call('HGET', attempts, entry) or '0'
  end
  return out
elseif op == 'done' then
  local entry, claimed, now = ARGV[2], ARGV[3], ARGV[4]
  if (redis.call('HGET', seq, entry) or '0') ~= claimed then
    redis.call('ZADD', due, 'XX', now, entry)
    redis.call('HDEL', attempts, entry)
    return 0
  end
  redis.call('ZREM', due, entry)
  redis.call('ZREM', since, entry)
  redis.call('HDEL', requests, entry)
  redis.call('HDEL', seq, entry)
  redis.call('HDEL', attempts, entry)
  return 1
elseif op == 'retry' then
  local entry, when = ARGV[2], ARGV[3]
  redis.call('ZADD', due, 'XX', when, entry)
  return redis.call('HINCRBY', attempts, entry, 1)
end
return redis.error_reply('fetch_queue.lua: unknown op ' .. tostring(op))
