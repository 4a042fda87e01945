-- Raise a supervisor alert about a case once: alert record, open-alerts index, event and a
-- supervisor notification, and stop the timer that fired it.
-- ARGV: 1 prefix, 2 kind, 3 case id, 4 timer key suffix ("" = none), 5 now,
--       6 alert id, 7 notification id, 8 events maxlen, 9 notification due
local P, kind, case_id, timer, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local alert_id, nid = ARGV[6], ARGV[7]
if timer ~= "" then
  if redis.call("ZREM", P .. timer, case_id) == 0 then return {"already"} end
end
local c = {}
local flat = redis.call("HGETALL", P .. "case:" .. case_id)
for i = 1, #flat, 2 do c[flat[i]] = flat[i + 1] end
if c.id == nil or c.state == "closed" then return {"skipped"} end
redis.call("HSET", P .. "alert:" .. alert_id, "id", alert_id, "kind", kind, "case_id", case_id,
  "reference", c.reference or "", "district", c.district or "", "priority", c.priority or "",
  "officer_id", c.officer or "", "created_at", now, "status", "open")
redis.call("ZADD", P .. "alerts:open", now, alert_id)
redis.call("XADD", P .. "events", "MAXLEN", "~", ARGV[8], "*", "type", "AlertRaised",
  "alert_id", alert_id, "case_id", case_id, "kind", kind, "district", c.district or "",
  "priority", c.priority or "", "at", now)
redis.call("XADD", P .. "case:" .. case_id .. ":log", "*", "type", "AlertRaised",
  "alert_id", alert_id, "case_id", case_id, "kind", kind, "at", now)
redis.call("HSET", P .. "notification:" .. nid, "id", nid, "kind", kind,
  "recipient_type", "supervisors", "recipient", "", "case_id", case_id,
  "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
  "created_at", now, "status", "pending", "attempts", "0")
redis.call("ZADD", P .. "notify:outbox", ARGV[9], nid)
return {"raised", alert_id, nid}
