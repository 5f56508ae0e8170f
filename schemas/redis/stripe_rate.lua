#!lua
-- stripe_rate.lua: one token bucket for every call this deployment makes to Stripe's API,
-- shared by all processes (Stripe limits the account, not the process). Redis's own clock is
-- used, so processes with skewed clocks still agree.
--
-- KEYS[1] the bucket (a hash: tokens, at_us)
-- ARGV[1] rate, tokens a second      ARGV[2] burst (bucket size)
-- ARGV[3] reserve: tokens only priority 0 may take (portal returns go before the rest)
-- ARGV[4] priority: 0 (a customer is waiting) or 1 (everything else)
-- Returns 0 when a token was taken, else the milliseconds to wait before asking again.
local key = KEYS[1]
local rate, burst, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local priority = tonumber(ARGV[4])
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', key, 'tokens', 'at_us')
local tokens = tonumber(state[1]) or burst
local at_us = tonumber(state[2]) or now_us
tokens = math.min(burst, tokens + (now_us - at_us) / 1000000 * rate)
local floor = priority == 0 and 0 or reserve
local result = 0
if tokens - 1 >= floor then
  tokens = tokens - 1
else
  result = math.ceil((floor + 1 - tokens) / rate * 1000)
end
-- at_us as an integer: tostring() of a number this large gives 14 digits ("1.7962067576457e+15"),
-- which drops the last 100 us of the clock (found by schemas/records/stripe_budget.schema.json).
redis.call('HSET', key, 'tokens', tostring(tokens), 'at_us', string.format('%d', now_us))
redis.call('PEXPIRE', key, 60000)
return result
