#!lua
-- apply_change.lua: applies one change record (a webhook event, a re-sync snapshot, a backfilled
-- or replayed event) to one object, atomically. Every key is in the slot of one hash tag.
--
-- KEYS[1] object hash          stripe:{c}:customer | stripe:{c}:subscription:{id} | ...
-- KEYS[2] processed marker     stripe:{c}:event:{evt}
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
-- ARGV[8]  processed-marker TTL, seconds          ARGV[9]  audit MAXLEN (approximate)
-- ARGV[10] now, unix ms                           ARGV[11] source (webhook, replay, ...)
-- ARGV[12] "1" when the event carried previous_attributes
-- ARGV[13] the event's api_version ("" for a snapshot fetched from the API)
-- ARGV[14] n: number of fields; then n name/value pairs (the object's stored fields)
-- then m: number of previous fields; then m name/value pairs (previous_attributes, restricted
-- to stored fields); then the index score; then k: number of index members; then k members
--
-- Returns { outcome, changed fields joined by ",", tie ('1' or '0') } with outcome one of
-- applied | stale | ambiguous | duplicate.
--
-- The processed marker holds the outcome, with ':tie' appended when the event tied with the
-- stored state. A duplicate answers that tie again: a batch retried after part of it applied
-- (a WAIT that fell short, one master of a cluster refusing) must still ask Stripe to settle it.

local obj, marker, audit, index, drop = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local event_id, event_type, object_id = ARGV[1], ARGV[2], ARGV[3]
local stamp = tonumber(ARGV[4])
local tombstone = ARGV[5] == '1'
local index_action, drop_on_apply = ARGV[6], ARGV[7] == '1'
local ttl, maxlen, now_ms, source = tonumber(ARGV[8]), ARGV[9], ARGV[10], ARGV[11]
local has_previous = ARGV[12] == '1'
local api_version = ARGV[13]

local seen = redis.call('GET', marker)
if seen then
  return {'duplicate', '', string.sub(seen, -4) == ':tie' and '1' or '0'}
end

local n = tonumber(ARGV[14])
local fields, names = {}, {}
local i = 15
for k = 1, n do
  local name = ARGV[i]
  names[k] = name
  fields[name] = ARGV[i + 1]
  i = i + 2
end
if tombstone then
  -- A tombstone says so in its record, whatever the fields carried.
  if fields['deleted'] == nil then names[#names + 1] = 'deleted' end
  fields['deleted'] = '1'
end
local m = tonumber(ARGV[i])
i = i + 1
local previous, previous_count = {}, 0
for _ = 1, m do
  previous[ARGV[i]] = ARGV[i + 1]
  previous_count = previous_count + 1
  i = i + 2
end
local index_score = ARGV[i]
local index_members = {}
for k = 1, tonumber(ARGV[i + 1]) do index_members[k] = ARGV[i + 1 + k] end

-- The stored stamp, tombstone, revalidation mark and every field of the record, in one read.
local current = redis.call('HMGET', obj, '_v', 'deleted', '_revalidate', unpack(names))
local stored_stamp = tonumber(current[1] or '0') or 0
local stored_deleted = current[2] == '1'
local marked = current[3] ~= false
-- changed: the fields whose value differs ("" and absent read alike), for the audit entry and
-- the same-second rule; writes: those plus the fields the record does not hold yet.
local changed, writes = {}, {}
for k = 1, #names do
  local name = names[k]
  local have, new = current[k + 3], fields[name]
  if have ~= new then
    writes[#writes + 1] = name
    writes[#writes + 1] = new
    if have or new ~= '' then changed[#changed + 1] = name end
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
elseif #changed == 0 then
  outcome = 'stale'                       -- same second, nothing to do
elseif has_previous and previous_count > 0 then
  -- Same second: the direct successor of the stored state applies; anything else is ambiguous.
  outcome = 'applied'
  local stored = {}
  for k = 1, #names do stored[names[k]] = current[k + 3] or '' end
  for name, value in pairs(previous) do
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

if outcome == 'applied' then
  -- Only what differs is written: a field rewritten with its own value costs Redis the same.
  redis.call('HSET', obj, '_v', ARGV[4], '_event', event_id, '_synced_ms', now_ms, unpack(writes))
  if marked then redis.call('HDEL', obj, '_revalidate') end
  if index_action == 'add' then
    redis.call('SADD', index, object_id)
  elseif index_action == 'remove' then
    redis.call('SREM', index, object_id)
  elseif index_action == 'zadd' then
    redis.call('ZADD', index, index_score, object_id)
  elseif index_action == 'zrem' then
    redis.call('ZREM', index, object_id)
  elseif index_action == 'replace' then
    redis.call('DEL', index)
    if #index_members > 0 then redis.call('SADD', index, unpack(index_members)) end
  end
  if drop_on_apply then redis.call('DEL', drop) end
elseif outcome == 'ambiguous' then
  -- The stored state is kept; the object is marked so revalidation fetches it from Stripe.
  redis.call('HSET', obj, '_revalidate', event_id)
end

local changed_text = outcome == 'applied' and table.concat(changed, ',') or ''
redis.call('XADD', audit, 'MAXLEN', '~', maxlen, '*',
           'event_id', event_id, 'type', event_type, 'object_id', object_id,
           'outcome', outcome, 'changed', changed_text, 'source', source, 'api_version', api_version)
-- The third element says the event tied with the stored state (same second, same rank): the
-- previous_attributes rule decided it, and a value that returned to an earlier one within that
-- second can fool the rule, so a worker with WORKER_REVALIDATE=1 confirms every tie at Stripe.
local tie = (stored_stamp ~= 0 and not stored_deleted and stamp == stored_stamp) and '1' or '0'
redis.call('SET', marker, tie == '1' and (outcome .. ':tie') or outcome, 'EX', ttl)
return {outcome, changed_text, tie}
