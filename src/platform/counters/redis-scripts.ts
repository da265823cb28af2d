/**
 * The Lua behind the Redis counters. Each script is one atomic step on one key, so a check and
 * its write can never interleave with another node's. Redis Lua numbers are doubles: the bounds in
 * validate.ts keep every value below 2^53, and numbers written back go through `%d` because
 * Redis's own number-to-string conversion may choose exponent notation for large values.
 *
 * Keep `takeToken` here and `MemoryCounters.takeToken` / `refill` in step: the contract tests
 * compare them through the same assertions.
 */

/**
 * KEYS[1] counter. ARGV: amount, limit, window ms (0 = none). Returns {allowed 0|1, used}.
 * INCRBY on an existing key keeps the window's expiry; only a new key sets one.
 */
export const CONSUME = `
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local current = redis.call('GET', KEYS[1])
local used = 0
if current then used = tonumber(current) end
if amount > limit - used then return {0, used} end
if amount == 0 then return {1, used} end
if current then
  redis.call('INCRBY', KEYS[1], ARGV[1])
elseif ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return {1, used + amount}
`;

/** KEYS[1] counter. ARGV: amount. Returns the count after the refund, floored at 0. */
export const REFUND = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local used = tonumber(current) - tonumber(ARGV[1])
if used < 0 then used = 0 end
redis.call('SET', KEYS[1], string.format('%d', used), 'KEEPTTL')
return used
`;

/**
 * KEYS[1] bucket hash {t = micro-tokens, s = server ms of t}. ARGV: capacity (micro-tokens),
 * refill (micro-tokens per ms), cost (micro-tokens). Returns {allowed 0|1, whole tokens left,
 * retry after ms}.
 *
 * Time is the Redis server's TIME, not the caller's: every node shares one clock for the bucket
 * (scripts are replicated by effect, so TIME is allowed before writes). A server clock that steps
 * back refills nothing instead of minting tokens. The key expires when the bucket would be full
 * again, because a full bucket and an absent one are the same; a denial writes nothing.
 */
export const TAKE_TOKEN = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tokens = cap
local state = redis.call('HMGET', KEYS[1], 't', 's')
if state[1] then
  local stamp = tonumber(state[2])
  if now < stamp then now = stamp end
  tokens = tonumber(state[1])
  if tokens > cap then tokens = cap end
  if now - stamp >= math.ceil((cap - tokens) / rate) then
    tokens = cap
  else
    tokens = tokens + (now - stamp) * rate
  end
end
if tokens < cost then
  return {0, math.floor(tokens / 1000000), math.ceil((cost - tokens) / rate)}
end
tokens = tokens - cost
if tokens >= cap then
  if state[1] then redis.call('DEL', KEYS[1]) end
else
  redis.call('HSET', KEYS[1], 't', string.format('%d', tokens), 's', string.format('%d', now))
  redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil((cap - tokens) / rate)))
end
return {1, math.floor(tokens / 1000000), 0}
`;
