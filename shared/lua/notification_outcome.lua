-- Record the outcome of one delivery attempt of a notification, atomically: its status,
-- its place in the notify outbox, the dead-letter set and the event (ids only, no text).
-- Only a pending notification changes; anything else returns {"not_pending", attempts}.
--
-- ARGV[1] key prefix, ARGV[2] JSON:
--   { op = "finish" | "fail" | "reschedule" | "dead", notification_id, now (epoch seconds),
--     finish: status ("sent" | "skipped")
--     fail: due (epoch seconds of the retry), error (the error's type name)
--     reschedule: due
--     dead: notice_id (the supervisors' dead_letter notice to write, due at once: grace 0)
--     events_maxlen, grace }
-- Returns {"ok", attempts} — for dead {"ok", attempts, notice id or "" (none written: this
-- was itself such a notice)} — | {"not_pending", attempts} | {"missing", 0}
-- @lib

local op, nid = args.op, args.notification_id
local note_key = key("notification", nid)
local note = redis.call("HMGET", note_key, "status", "attempts", "kind", "case_id",
  "reference", "priority", "district")
local status, attempts = note[1], tonumber(note[2] or "0") or 0
local kind, case_id = note[3] or "", note[4] or ""
if not status then return {"missing", 0} end
if status ~= "pending" then return {"not_pending", attempts} end

-- The outcome on the events stream and, except a failed attempt, in the case's log.
local function outcome_event(etype, ...)
  local fields = {"type", etype, "notification_id", nid, "kind", kind,
                  "case_id", case_id, "at", fmt(now), ...}
  if case_id ~= "" and etype ~= "NotificationFailed" then
    event(case_id, fields)
  else
    emit(fields)
  end
end

-- A sealed check code rides a reporter's acknowledgement only until it is sent or given up.
if op == "finish" or op == "dead" then redis.call("HDEL", note_key, "sealed_code") end

if op == "finish" then
  redis.call("HSET", note_key, "status", args.status, "finished_at", fmt(now))
  redis.call("ZREM", key("notify", "outbox"), nid)
  outcome_event(args.status == "sent" and "NotificationSent" or "NotificationSkipped")
elseif op == "fail" then
  attempts = redis.call("HINCRBY", note_key, "attempts", 1)
  redis.call("HSET", note_key, "last_error", args.error, "last_attempt_at", fmt(now))
  redis.call("ZADD", key("notify", "outbox"), fmt(args.due), nid)
  outcome_event("NotificationFailed", "attempts", tostring(attempts), "error", args.error,
    "due", fmt(args.due))
elseif op == "reschedule" then
  redis.call("ZADD", key("notify", "outbox"), fmt(args.due), nid)
elseif op == "dead" then
  redis.call("HSET", note_key, "status", "dead", "finished_at", fmt(now))
  redis.call("ZREM", key("notify", "outbox"), nid)
  redis.call("ZADD", key("deadletters"), fmt(now), nid)
  outcome_event("NotificationDeadLettered", "attempts", tostring(attempts))
  -- Tell the supervisors, unless this already was that message (no alert about an alert).
  local notice = ""
  if (args.notice_id or "") ~= "" and kind ~= "dead_letter" then
    notice = args.notice_id
    notification(notice, "dead_letter", "supervisors", "", case_id,
      {reference = note[5], priority = note[6], district = note[7]})
    redis.call("HSET", key("notification", notice), "about", nid)
    emit({"type", "NotificationCreated", "notification_id", notice, "kind", "dead_letter",
      "case_id", case_id, "about", nid, "at", fmt(now)})
  end
  return {"ok", attempts, notice}
else
  return redis.error_reply("unknown op " .. tostring(op))
end
return {"ok", attempts}
