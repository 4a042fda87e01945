-- Raise a supervisor alert about a case once: alert record, open-alerts index, event (also
-- in the case log) and a supervisor notification, and stop the timer that fired it.
--
-- ARGV[1] key prefix, ARGV[2] JSON:
--   { kind, case_id, now (epoch seconds),
--     timer (the timer's key after the prefix, e.g. "sla:accept"; "" = none),
--     alert_id, notification_id, events_maxlen, grace }
-- Returns {"raised", alert_id, notification_id} | {"already"} (the timer was stopped
-- already: raised before) | {"skipped"} (no such case, or closed)
-- @lib

local kind, case_id = args.kind, args.case_id
if args.timer ~= "" then
  if redis.call("ZREM", key(args.timer), case_id) == 0 then return {"already"} end
end
local c = hash(key("case", case_id))
if c.id == nil or c.state == "closed" then return {"skipped"} end
alert(args.alert_id, kind, case_id, c, c.officer or "")
log_alert(case_id, args.alert_id, kind)
notification(args.notification_id, kind, "supervisors", "", case_id, c)
return {"raised", args.alert_id, args.notification_id}
