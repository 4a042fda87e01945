-- Store a new case atomically: case hash, reference, first event (case log + events
-- stream), outbox entry, idempotency key and, for emergencies, the supervisor alert.
-- Either all of it is written or none of it.
--
-- KEYS: 1 case hash, 2 case log, 3 reference, 4 events stream, 5 outbox zset,
--       6 idempotency key ("" = none), 7 alert hash ("" = none), 8 open alerts zset
-- ARGV: 1 case id, 2 reference, 3 idempotency value, 4 idempotency ttl (s), 5 now,
--       6 outbox due, 7 events maxlen, 8 alert id, 9 case fields (JSON object),
--       10 event fields (JSON object), 11 alert fields (JSON object or ""),
--       12 accept-SLA due time, 13 notification records (JSON list of flat objects),
--       14 notification due time
-- Extra keys derived from the prefix ARGV[15]: sla:accept, notify:outbox, notification:{id}
--       16 broker queue key and 17 the router's task message ("" = intake publishes it
--       after the script): LPUSHed here, the case is announced in the same atomic step.
local case_key, log_key, ref_key, events_key, outbox_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local idem_key, alert_key, alerts_key = KEYS[6], KEYS[7], KEYS[8]
local case_id, reference, idem_value = ARGV[1], ARGV[2], ARGV[3]

if idem_key ~= "" then
  local seen = redis.call("GET", idem_key)
  if seen then return {"duplicate", seen} end
end
if redis.call("EXISTS", ref_key) == 1 then return {"reference_taken", ""} end
if redis.call("EXISTS", case_key) == 1 then return {"exists", ""} end

local function flat(obj)
  local out = {}
  for k, v in pairs(obj) do out[#out + 1] = k; out[#out + 1] = tostring(v) end
  return out
end

redis.call("HSET", case_key, unpack(flat(cjson.decode(ARGV[9]))))
redis.call("SET", ref_key, case_id)
local event = flat(cjson.decode(ARGV[10]))
redis.call("XADD", log_key, "*", unpack(event))
redis.call("XADD", events_key, "MAXLEN", "~", ARGV[7], "*", unpack(event))
redis.call("ZADD", outbox_key, ARGV[6], case_id)
if idem_key ~= "" then
  redis.call("SET", idem_key, idem_value, "EX", tonumber(ARGV[4]))
end
if alert_key ~= "" then
  local alert = cjson.decode(ARGV[11])
  redis.call("HSET", alert_key, unpack(flat(alert)))
  redis.call("ZADD", alerts_key, ARGV[5], ARGV[8])
  redis.call("XADD", events_key, "MAXLEN", "~", ARGV[7], "*",
    "type", "AlertRaised", "alert_id", ARGV[8], "case_id", case_id,
    "kind", alert["kind"], "district", alert["district"], "at", ARGV[5])
end
local P = ARGV[15]
redis.call("ZADD", P .. "sla:accept", ARGV[12], case_id)
for _, n in ipairs(cjson.decode(ARGV[13])) do
  redis.call("HSET", P .. "notification:" .. n["id"], unpack(flat(n)))
  redis.call("ZADD", P .. "notify:outbox", ARGV[14], n["id"])
end
if ARGV[16] ~= "" and ARGV[17] ~= "" then
  redis.call("LPUSH", ARGV[16], ARGV[17])
end
return {"created", ""}
