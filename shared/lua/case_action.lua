-- What happens to a case after it is offered: accept, decline, expire, contact, close,
-- reassign — each checked and applied atomically with the officer's load and the events.
--
-- ARGV: 1 prefix, 2 action, 3 case id, 4 actor id (officer or supervisor; "" = system),
--       5 now, 6 config JSON:
--       { from_states = [...] (legal source states, from the Python state machine),
--         target = state, own = bool (the actor must hold the case), reason, channel,
--         outcome, to_officer, sla_contact = seconds, timeouts = {...}, away_after = 2,
--         notification_id, alert_id, events_maxlen, grace }
-- Returns {"ok", state, officer_freed, extra} or {"error", code, detail}
local P = ARGV[1]
local action, case_id, actor, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local cfg = cjson.decode(ARGV[6])
-- @lib

-- Release the case from its officer and send it back to routing (outbox, due now).
local function back_to_routing(c, exclude)
  local officer_id = c.officer or ""
  if officer_id ~= "" then
    redis.call("SREM", key("officer", officer_id, "cases"), case_id)
    if exclude then redis.call("SADD", key("case", case_id, "excluded"), officer_id) end
    refresh(officer_id)
  end
  redis.call("ZREM", key("offers"), case_id)
  redis.call("ZREM", key("sla", "contact"), case_id)
  redis.call("HSET", key("case", case_id), "state", "waiting", "officer", "",
    "waiting_since", fmt(now), "updated_at", fmt(now))
  redis.call("ZADD", key("waiting"), fmt(tonumber(c.priority) * LOAD + tonumber(c.created_at)), case_id)
  redis.call("ZADD", key("waiting", "since"), fmt(now), case_id)
  redis.call("ZADD", key("outbox"), fmt(now), case_id)
  return officer_id
end

local c = hash(key("case", case_id))
if c.id == nil then return {"error", "not_found", ""} end
if not contains(cfg.from_states, c.state) then
  return {"error", "illegal_transition", c.state}
end
if cfg.own and (c.officer or "") ~= actor then return {"error", "not_yours", ""} end

if action == "accept" then
  redis.call("HSET", key("case", case_id), "state", "accepted", "accepted_at", fmt(now),
    "updated_at", fmt(now))
  redis.call("ZREM", key("offers"), case_id)
  redis.call("ZREM", key("sla", "accept"), case_id)
  redis.call("ZADD", key("sla", "contact"), fmt(now + cfg.sla_contact), case_id)
  redis.call("HSET", key("officer", actor), "expiries", "0")
  local waited = now - tonumber(c.offered_at or now)
  event(case_id, {"type", "OfferAccepted", "case_id", case_id, "officer_id", actor,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "offer_seconds", fmt(waited), "since_received", fmt(now - tonumber(c.created_at)),
    "at", fmt(now)})
  return {"ok", "accepted", "", ""}
end

if action == "decline" or action == "expire" or action == "off_shift" then
  if action == "expire" and tonumber(c.offer_deadline or "0") > now then
    return {"error", "not_due", ""}
  end
  local officer_id = c.officer or ""
  local away = "0"
  if action == "expire" and officer_id ~= "" then
    local n = redis.call("HINCRBY", key("officer", officer_id), "expiries", 1)
    if n >= (cfg.away_after or 2) then
      redis.call("HSET", key("officer", officer_id), "status", "away", "expiries", "0")
      away = "1"
    end
  elseif action == "decline" and officer_id ~= "" then
    redis.call("HSET", key("officer", officer_id), "expiries", "0")
  end
  back_to_routing(c, true)
  local types = {decline = "OfferDeclined", expire = "OfferExpired", off_shift = "OfferWithdrawn"}
  event(case_id, {"type", types[action], "case_id", case_id, "officer_id", officer_id,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "reason", cfg.reason or action, "at", fmt(now)})
  if away == "1" then
    alert(cfg.alert_id, "officer_set_away", case_id, c, officer_id)
    notification(cfg.notification_id, "officer_set_away", "supervisors", "", case_id, c)
  end
  return {"ok", "waiting", officer_id, away}
end

if action == "contact" then
  local first = c.first_contact_at == nil or c.first_contact_at == ""
  redis.call("HSET", key("case", case_id), "state", "contacted", "updated_at", fmt(now))
  if first then redis.call("HSET", key("case", case_id), "first_contact_at", fmt(now)) end
  redis.call("ZREM", key("sla", "contact"), case_id)
  event(case_id, {"type", "ContactRecorded", "case_id", case_id, "officer_id", actor,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "channel", cfg.channel or "", "outcome", cfg.outcome or "", "first", first and "1" or "0",
    "at", fmt(now)})
  return {"ok", "contacted", "", ""}
end

if action == "close" then
  local officer_id = c.officer or ""
  if officer_id ~= "" then
    redis.call("SREM", key("officer", officer_id, "cases"), case_id)
    refresh(officer_id)
  end
  for _, z in ipairs({key("offers"), key("sla", "accept"), key("sla", "contact"), key("waiting"),
                      key("waiting", "since"), key("outbox")}) do
    redis.call("ZREM", z, case_id)
  end
  redis.call("HSET", key("case", case_id), "state", "closed", "closed_at", fmt(now),
    "outcome", cfg.outcome or "", "updated_at", fmt(now))
  event(case_id, {"type", "CaseClosed", "case_id", case_id, "officer_id", officer_id, "by", actor,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "outcome", cfg.outcome or "", "at", fmt(now)})
  return {"ok", "closed", officer_id, ""}
end

if action == "reassign" then
  local target = cfg.to_officer or ""
  local previous = c.officer or ""
  if target ~= "" then
    local o = hash(key("officer", target))
    if o.id == nil or o.role ~= "officer" then return {"error", "no_such_officer", target} end
    if target == previous then return {"error", "same_officer", target} end
    local load = redis.call("SCARD", key("officer", target, "cases"))
    if load >= tonumber(o.capacity or "0") then return {"error", "at_capacity", target} end
  end
  if previous ~= "" then
    redis.call("SREM", key("officer", previous, "cases"), case_id)
    -- sent back to routing: someone else should have it
    if target == "" then redis.call("SADD", key("case", case_id, "excluded"), previous) end
    refresh(previous)
  end
  redis.call("ZREM", key("offers"), case_id)
  redis.call("ZREM", key("sla", "contact"), case_id)
  redis.call("SREM", key("case", case_id, "excluded"), target)
  if target == "" then
    back_to_routing({officer = "", priority = c.priority, created_at = c.created_at}, false)
  else
    local deadline = now + tonumber(cfg.timeouts[c.priority] or 3600)
    redis.call("SADD", key("officer", target, "cases"), case_id)
    redis.call("HSET", key("officer", target), "last_offer_at", fmt(now))
    refresh(target)
    redis.call("HSET", key("case", case_id), "state", "offered", "officer", target,
      "offered_at", fmt(now), "offer_deadline", fmt(deadline), "updated_at", fmt(now))
    redis.call("ZADD", key("offers"), fmt(deadline), case_id)
    for _, z in ipairs({key("waiting"), key("waiting", "since"), key("outbox")}) do
      redis.call("ZREM", z, case_id)
    end
    notification(cfg.notification_id, "reassigned", "officer", target, case_id, c)
  end
  event(case_id, {"type", "CaseReassigned", "case_id", case_id, "by", actor, "from_officer", previous,
    "to_officer", target, "reference", c.reference or "", "priority", c.priority or "",
    "district", c.district or "", "at", fmt(now)})
  return {"ok", target == "" and "waiting" or "offered", previous, target}
end

return {"error", "unknown_action", action}
