-- Raise a supervisor alert about a case once: alert record, open-alerts index, event (also
-- in the case log) and a supervisor notification, and stop the timer that fired it.
-- ARGV: 1 prefix, 2 kind, 3 case id, 4 timer key suffix ("" = none), 5 now,
--       6 alert id, 7 notification id, 8 events maxlen, 9 notification grace (seconds)
local P, kind, case_id, timer, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local alert_id, nid = ARGV[6], ARGV[7]
local cfg = {events_maxlen = tonumber(ARGV[8]), grace = tonumber(ARGV[9])}
-- @lib

if timer ~= "" then
  if redis.call("ZREM", P .. timer, case_id) == 0 then return {"already"} end
end
local c = hash(key("case", case_id))
if c.id == nil or c.state == "closed" then return {"skipped"} end
alert(alert_id, kind, case_id, c, c.officer or "")
redis.call("XADD", key("case", case_id, "log"), "*", "type", "AlertRaised",
  "alert_id", alert_id, "case_id", case_id, "kind", kind, "at", fmt(now))
notification(nid, kind, "supervisors", "", case_id, c)
return {"raised", alert_id, nid}
