#!lua
-- apply_change.lua: applies one change record (a webhook event, a re-sync snapshot, a backfilled
-- or replayed event) to one object, atomically. Every key is in the slot of one hash tag.
--
-- KEYS[1] object hash          stripe:{c}:customer | stripe:{c}:subscription:{id} | ...
-- KEYS[2] processed markers    stripe:{c}:events:{day}: hash of the day's event ids (day of created)
-- KEYS[3] audit stream         stripe:{c}:audit
-- KEYS[4] index                stripe:{c}:subscriptions | stripe:{c}:payment_methods (sets),
--                              stripe:{c}:invoices (sorted set), stripe:{c}:entitlements:active
--                              (set), or KEYS[1] for none
-- KEYS[5] key to delete when applied (a cache), or KEYS[1] for none
--
-- ARGV[1]  event id            ARGV[2]  event type          ARGV[3]  object id
-- ARGV[4]  stamp (created*10+rank, as a decimal string)
-- ARGV[5]  "1" when the record is a tombstone (deleted / detached / ended)
-- ARGV[6]  index action: "add" / "remove" (SADD / SREM the object id), "zadd" / "zrem" (by the
--          score below), "replace" (the set becomes the members below), or "none"
-- ARGV[7]  "1" when KEYS[5] is to be deleted on apply
-- ARGV[8]  when KEYS[2] expires (unix s)          ARGV[9]  audit MAXLEN (approximate)
-- ARGV[10] now, unix ms                           ARGV[11] source (webhook, replay, ...)
-- ARGV[12] "1" when the event carried previous_attributes
-- ARGV[13] the event's api_version, "" when it is the pinned one (every snapshot fetched from the
--          API is rendered in that one too)
-- ARGV[14] n: number of fields; then n name/value pairs (the object's stored fields)
-- then m: number of previous fields; then m name/value pairs (previous_attributes, restricted
-- to stored fields); then the index score; then k: number of index members; then k members
--
-- Returns { outcome, changed fields joined by ",", tie ('1' or '0') } with outcome one of
-- applied | stale | ambiguous | duplicate.
--
-- The processed marker is the field ARGV[1] of KEYS[2], its value one letter: a applied, s stale,
-- m ambiguous; upper case when the event tied with the stored state. A duplicate answers that tie
-- again: a batch retried after part of it applied (a WAIT that fell short, one master of a cluster
-- refusing) must still ask Stripe to settle it.

local obj, marker, audit, index, drop = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local event_id, event_type, object_id = ARGV[1], ARGV[2], ARGV[3]
local stamp = tonumber(ARGV[4])
local tombstone = ARGV[5] == '1'
local index_action, drop_on_apply = ARGV[6], ARGV[7] == '1'

-- The record's fields as two arrays (names, values) in ARGV order: no table keyed by name is
-- built on the common path, since Redis spends more on the script's own work than on its calls.
local n = tonumber(ARGV[14])
local names, values = {}, {}
local i = 15
for k = 1, n do
  names[k] = ARGV[i]
  values[k] = ARGV[i + 1]
  i = i + 2
end
if tombstone then
  -- A tombstone says so in its record, whatever the fields carried.
  local at = n + 1
  for k = 1, n do if names[k] == 'deleted' then at = k end end
  names[at], values[at] = 'deleted', '1'
end
local previous_at, previous_count = i + 1, tonumber(ARGV[i])
local index_at = previous_at + 2 * previous_count

-- The stored stamp, tombstone, revalidation mark and every field of the record, in one read.
local current = redis.call('HMGET', obj, '_v', 'deleted', '_revalidate', unpack(names))
local stored_stamp = tonumber(current[1] or '0') or 0
local stored_deleted = current[2] == '1'
local marked = current[3] ~= false
-- changed: the fields whose value differs ("" and absent read alike), for the audit entry and
-- the same-second rule; writes: those plus the fields the record does not hold yet.
local changed, writes = {}, {}
local w, c = 0, 0
for k = 1, #names do
  local have, new = current[k + 3], values[k]
  if have ~= new then
    writes[w + 1], writes[w + 2] = names[k], new
    w = w + 2
    if have or new ~= '' then
      c = c + 1
      changed[c] = names[k]
    end
  end
end

local outcome
if stored_stamp == 0 then
  outcome = 'applied'
elseif stored_deleted then
  outcome = 'stale'                       -- a tombstone is never revived
elseif stamp > stored_stamp then
  outcome = 'applied'
elseif stamp < stored_stamp then
  outcome = 'stale'
elseif c == 0 then
  outcome = 'stale'                       -- same second, nothing to do
elseif ARGV[12] == '1' and previous_count > 0 then
  -- Same second: the direct successor of the stored state applies; anything else is ambiguous.
  outcome = 'applied'
  local stored = {}
  for k = 1, #names do stored[names[k]] = current[k + 3] or '' end
  for p = previous_at, index_at - 1, 2 do
    local name, value = ARGV[p], ARGV[p + 1]
    local have = stored[name]
    if have == nil then have = redis.call('HGET', obj, name) or '' end
    if have ~= value then
      outcome = 'ambiguous'
      break
    end
  end
else
  outcome = 'ambiguous'
end

-- The third element says the event tied with the stored state (same second, same rank): the
-- previous_attributes rule decided it, and a value that returned to an earlier one within that
-- second can fool the rule, so a worker with WORKER_REVALIDATE=1 confirms every tie at Stripe.
local tie = (stored_stamp ~= 0 and not stored_deleted and stamp == stored_stamp) and '1' or '0'
-- The processed marker is set, if absent, before anything is written: an event already processed
-- writes nothing and answers the tie it had then.
local code = outcome == 'applied' and 'a' or outcome == 'stale' and 's' or 'm'
if tie == '1' then code = string.upper(code) end
if redis.call('HSETNX', marker, event_id, code) == 0 then
  local seen = redis.call('HGET', marker, event_id)
  return {'duplicate', '', seen == string.upper(seen) and '1' or '0'}
end
redis.call('EXPIREAT', marker, ARGV[8])

if outcome == 'applied' then
  -- Only what differs is written: a field rewritten with its own value costs Redis the same.
  redis.call('HSET', obj, '_v', ARGV[4], '_event', event_id, '_synced_ms', ARGV[10], unpack(writes))
  if marked then redis.call('HDEL', obj, '_revalidate') end
  if index_action == 'add' then
    redis.call('SADD', index, object_id)
  elseif index_action == 'remove' then
    redis.call('SREM', index, object_id)
  elseif index_action == 'zadd' then
    redis.call('ZADD', index, ARGV[index_at], object_id)
  elseif index_action == 'zrem' then
    redis.call('ZREM', index, object_id)
  elseif index_action == 'replace' then
    redis.call('DEL', index)
    local members = {}
    for k = 1, tonumber(ARGV[index_at + 1]) do members[k] = ARGV[index_at + 1 + k] end
    if #members > 0 then redis.call('SADD', index, unpack(members)) end
  end
  if drop_on_apply then redis.call('DEL', drop) end
elseif outcome == 'ambiguous' then
  -- The stored state is kept; the object is marked so revalidation fetches it from Stripe.
  redis.call('HSET', obj, '_revalidate', event_id)
end

local changed_text = outcome == 'applied' and table.concat(changed, ',') or ''
redis.call('XADD', audit, 'MAXLEN', '~', ARGV[9], '*',
           'event_id', event_id, 'type', event_type, 'object_id', object_id,
           'outcome', outcome, 'changed', changed_text, 'source', ARGV[11], 'api_version', ARGV[13])
return {outcome, changed_text, tie}
