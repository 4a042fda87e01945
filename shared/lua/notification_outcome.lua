-- Record the outcome of one delivery attempt of a notification, atomically: its status,
-- its place in the notify outbox, the dead-letter set and the event (ids only, no text).
-- Only a pending notification changes; anything else returns {"not_pending", attempts}.
--
-- KEYS: 1 notification hash, 2 notify outbox zset, 3 events stream, 4 dead letters zset,
--       5 case log stream ("" = none), 6 new alert notification hash ("" = none)
-- ARGV: 1 op: finish | fail | reschedule | dead
--       2 notification id, 3 now, 4 events maxlen,
--       5 finish: status (sent|skipped); fail/reschedule: due time
--       6 fail: error type name
--       7 dead: alert notification id, 8 dead: alert fields (JSON object)
-- Returns {"ok", attempts} | {"not_pending", attempts} | {"missing", 0}
local note_key, outbox_key, events_key, dead_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local log_key, alert_key = KEYS[5], KEYS[6]
local op, nid, now, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local note = redis.call("HMGET", note_key, "status", "attempts", "kind", "case_id")
local status, attempts, kind, case_id = note[1], tonumber(note[2] or "0") or 0, note[3], note[4]
if not status then return {"missing", 0} end
if status ~= "pending" then return {"not_pending", attempts} end

local function event(etype, ...)
  local fields = {"type", etype, "notification_id", nid, "kind", kind or "",
                  "case_id", case_id or "", "at", now, ...}
  redis.call("XADD", events_key, "MAXLEN", "~", maxlen, "*", unpack(fields))
  if log_key ~= "" and etype ~= "NotificationFailed" then
    redis.call("XADD", log_key, "*", unpack(fields))
  end
end

if op == "finish" then
  local outcome = ARGV[5]
  redis.call("HSET", note_key, "status", outcome, "finished_at", now)
  redis.call("ZREM", outbox_key, nid)
  event(outcome == "sent" and "NotificationSent" or "NotificationSkipped")
elseif op == "fail" then
  attempts = redis.call("HINCRBY", note_key, "attempts", 1)
  redis.call("HSET", note_key, "last_error", ARGV[6], "last_attempt_at", now)
  redis.call("ZADD", outbox_key, ARGV[5], nid)
  event("NotificationFailed", "attempts", tostring(attempts), "error", ARGV[6],
        "due", ARGV[5])
elseif op == "reschedule" then
  redis.call("ZADD", outbox_key, ARGV[5], nid)
elseif op == "dead" then
  redis.call("HSET", note_key, "status", "dead", "finished_at", now)
  redis.call("ZREM", outbox_key, nid)
  redis.call("ZADD", dead_key, now, nid)
  event("NotificationDeadLettered", "attempts", tostring(attempts))
  -- Tell the supervisors, unless this already was that message (no alert about an alert).
  if alert_key ~= "" and kind ~= "dead_letter" then
    local fields = {}
    for k, v in pairs(cjson.decode(ARGV[8])) do fields[#fields + 1] = k; fields[#fields + 1] = v end
    redis.call("HSET", alert_key, unpack(fields))
    redis.call("ZADD", outbox_key, now, ARGV[7])
    redis.call("XADD", events_key, "MAXLEN", "~", maxlen, "*", "type", "NotificationCreated",
      "notification_id", ARGV[7], "kind", "dead_letter", "case_id", case_id or "",
      "about", nid, "at", now)
  end
else
  return redis.error_reply("unknown op " .. tostring(op))
end
return {"ok", attempts}
