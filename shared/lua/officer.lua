-- Officer changes that routing depends on, each applied atomically with its consequences:
-- the officer's place in the availability sets and — when the change leaves them unable to
-- hold offers (away, off duty, on leave, off shift, no longer an officer) — their pending
-- offers withdrawn and sent back to routing (lib.lua `settle`). A crash can never leave a
-- status changed with the offers still held.
--
-- ARGV[1] key prefix, ARGV[2] JSON:
--   { mode = "save" | "status" | "shift" | "refresh", officer_id, now (epoch seconds),
--     save:   fields = {name: value}, on_shift = bool, supervisor = bool,
--             next_change = epoch (absent = none)
--     status: status
--     shift:  on_shift = bool, next_change = epoch (absent = none)
--     every mode: off_shift_reason ("on_leave" | "shift_ended"), events_maxlen }
-- Returns {"ok", "1" | "0" (can be offered a case now), withdrawn case id...} | {"missing"}
-- @lib

local mode, officer_id = args.mode, args.officer_id
local officer_key = key("officer", officer_id)

local function schedule(next_change)
  if next_change == nil or next_change == cjson.null then
    redis.call("ZREM", key("rota", "changes"), officer_id)
  else
    redis.call("ZADD", key("rota", "changes"), fmt(next_change), officer_id)
  end
end

if mode == "save" then
  for _, d in ipairs(split(redis.call("HGET", officer_key, "districts") or "")) do
    redis.call("ZREM", key("avail", d), officer_id)  -- districts may have changed
    redis.call("ZREM", key("staffed", d), officer_id)
  end
  redis.call("HSET", officer_key, "on_shift", args.on_shift and "1" or "0",
    unpack(flatten(args.fields)))
  redis.call("SADD", key("officers"), officer_id)
  if args.supervisor then
    redis.call("SADD", key("supervisors"), officer_id)
  else
    redis.call("SREM", key("supervisors"), officer_id)
  end
  schedule(args.next_change)
elseif redis.call("EXISTS", officer_key) == 0 then
  redis.call("ZREM", key("rota", "changes"), officer_id)
  return {"missing"}
elseif mode == "status" then
  redis.call("HSET", officer_key, "status", args.status, "expiries", "0")
elseif mode == "shift" then
  redis.call("HSET", officer_key, "on_shift", args.on_shift and "1" or "0")
  schedule(args.next_change)
elseif mode ~= "refresh" then
  return redis.error_reply("unknown mode " .. tostring(mode))
end

local eligible, withdrawn = settle(officer_id, args.off_shift_reason)
return {"ok", eligible and "1" or "0", unpack(withdrawn)}
