-- What happens to a case after it is offered: accept, decline, expire, contact, update,
-- close, reassign — each checked and applied atomically with the officer's load and the events.
--
-- ARGV[1] key prefix, ARGV[2] JSON:
--   { action = "accept" | "decline" | "expire" | "contact" | "update" | "close" | "reassign",
--     case_id, actor (officer or supervisor id; "" = the system), now (epoch seconds),
--     from_states = [...] (legal source states, from the Python state machine),
--     own = bool (the actor must hold the case),
--     accept: sla_clock = "contact" | "review" and sla_seconds (the clock acceptance starts)
--     decline, expire: reason; expire: away_after (missed offers in a row that set away)
--     contact: channel, outcome; close: outcome
--     update: channel, steps = [seconds, ...] (the case's Victims' Code schedule: the first
--       step runs from the report; after the nth update the next is due steps[n + 1] later,
--       the last step repeating); an update is contact made: it stops the first-contact clock
--     reassign: to_officer ("" = back to routing), timeouts = {"1": seconds, ...},
--       override = bool (give the case to an officer who is away, off duty, off shift, at
--       capacity or lacks a required skill — the supervisor's reason is kept as a sealed
--       note, never here; refused without:
--       {"error", first problem, every problem comma-separated, e.g. "off_shift,lacks_skill:bsl"})
--     notification_id, alert_id, events_maxlen, grace }
-- Returns {"ok", state, officer_freed, extra, other case ids sent back to routing...}
--         or {"error", code, detail}
-- @lib

local action, case_id, actor = args.action, args.case_id, args.actor
local c = hash(key("case", case_id))
if c.id == nil then return {"error", "not_found", ""} end
if not contains(args.from_states, c.state) then
  return {"error", "illegal_transition", c.state}
end
if args.own and (c.officer or "") ~= actor then return {"error", "not_yours", ""} end

if action == "accept" then
  redis.call("HSET", key("case", case_id), "state", "accepted", "accepted_at", fmt(now),
    "updated_at", fmt(now))
  redis.call("ZREM", key("offers"), case_id)
  redis.call("ZREM", key("sla", "accept"), case_id)
  -- first contact, or review for a case nobody may contact (the clock is chosen in Python)
  local clock = args.sla_clock == "review" and "review" or "contact"
  redis.call("ZADD", key("sla", clock), fmt(now + args.sla_seconds), case_id)
  redis.call("HSET", key("officer", actor), "expiries", "0")
  local waited = now - tonumber(c.offered_at or now)
  event(case_id, {"type", "OfferAccepted", "case_id", case_id, "officer_id", actor,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "offer_seconds", fmt(waited), "since_received", fmt(now - tonumber(c.created_at)),
    "at", fmt(now)})
  return {"ok", "accepted", "", ""}
end

if action == "decline" or action == "expire" then
  if action == "expire" and tonumber(c.offer_deadline or "0") > now then
    return {"error", "not_due", ""}
  end
  local officer_id = c.officer or ""
  local away = "0"
  if action == "expire" and officer_id ~= "" then
    local n = redis.call("HINCRBY", key("officer", officer_id), "expiries", 1)
    if n >= args.away_after then
      redis.call("HSET", key("officer", officer_id), "status", "away", "expiries", "0")
      away = "1"
    end
  elseif action == "decline" and officer_id ~= "" then
    redis.call("HSET", key("officer", officer_id), "expiries", "0")
  end
  back_to_routing(case_id, c, true)
  local types = {decline = "OfferDeclined", expire = "OfferExpired"}
  event(case_id, {"type", types[action], "case_id", case_id, "officer_id", officer_id,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "reason", args.reason or action, "at", fmt(now)})
  local result = {"ok", "waiting", officer_id, away}
  if away == "1" then
    alert(args.alert_id, "officer_set_away", case_id, c, officer_id)
    notification(args.notification_id, "officer_set_away", "supervisors", "", case_id, c)
    -- now away: their other pending offers go back to routing too
    local _, withdrawn = settle(officer_id)
    for _, other in ipairs(withdrawn) do result[#result + 1] = other end
  end
  return result
end

if action == "contact" then
  local first = c.first_contact_at == nil or c.first_contact_at == ""
  redis.call("HSET", key("case", case_id), "state", "contacted", "updated_at", fmt(now))
  if first then redis.call("HSET", key("case", case_id), "first_contact_at", fmt(now)) end
  redis.call("ZREM", key("sla", "contact"), case_id)
  event(case_id, {"type", "ContactRecorded", "case_id", case_id, "officer_id", actor,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "channel", args.channel or "", "outcome", args.outcome or "", "first", first and "1" or "0",
    "at", fmt(now)})
  return {"ok", "contacted", "", ""}
end

if action == "update" then
  local first = c.first_contact_at == nil or c.first_contact_at == ""
  local given = tonumber(c.updates_given or "0")
  -- steps[1] runs from the report (set at intake); after the nth update, steps[n + 1]
  local due = now + args.steps[math.min(given + 2, #args.steps)]
  redis.call("HSET", key("case", case_id), "state", "contacted", "updated_at", fmt(now),
    "last_update_at", fmt(now), "updates_given", tostring(given + 1),
    "next_update_at", fmt(due))
  if first then redis.call("HSET", key("case", case_id), "first_contact_at", fmt(now)) end
  redis.call("ZREM", key("sla", "contact"), case_id)
  redis.call("ZADD", key("updates", "due"), fmt(due), case_id)
  event(case_id, {"type", "UpdateGiven", "case_id", case_id, "officer_id", actor,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "channel", args.channel or "", "next_update_at", fmt(due), "first", first and "1" or "0",
    "at", fmt(now)})
  return {"ok", "contacted", "", fmt(due)}
end

if action == "close" then
  local officer_id = c.officer or ""
  if officer_id ~= "" then
    redis.call("SREM", key("officer", officer_id, "cases"), case_id)
    refresh(officer_id)
  end
  for _, z in ipairs({key("offers"), key("sla", "accept"), key("sla", "contact"),
                      key("sla", "review"), key("waiting"), key("waiting", "since"),
                      key("outbox"), key("ring", "due"), key("updates", "due")}) do
    redis.call("ZREM", z, case_id)
  end
  redis.call("HSET", key("case", case_id), "state", "closed", "closed_at", fmt(now),
    "outcome", args.outcome or "", "updated_at", fmt(now))
  event(case_id, {"type", "CaseClosed", "case_id", case_id, "officer_id", officer_id, "by", actor,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "outcome", args.outcome or "", "at", fmt(now)})
  return {"ok", "closed", officer_id, ""}
end

if action == "reassign" then
  local target = args.to_officer or ""
  local overridden = ""
  local previous = c.officer or ""
  if target ~= "" then
    local o = hash(key("officer", target))
    if o.id == nil or o.role ~= "officer" then return {"error", "no_such_officer", target} end
    if target == previous then return {"error", "same_officer", target} end
    -- What routing would not do (shared/domain/reassignment.py `problems` is the twin the
    -- picker shows): refused unless the supervisor gave a reason (`override`).
    local problems = {}
    if o.status == "away" then problems[#problems + 1] = "officer_away"
    elseif o.status ~= "available" then problems[#problems + 1] = "officer_off_duty" end
    if o.on_shift ~= "1" then problems[#problems + 1] = "off_shift" end
    local load = redis.call("SCARD", key("officer", target, "cases"))
    if load >= tonumber(o.capacity or "0") then problems[#problems + 1] = "at_capacity" end
    local held = "," .. (o.skills or "") .. ","
    for _, skill in ipairs(split(c.required_skills)) do
      if string.find(held, "," .. skill .. ",", 1, true) == nil then
        problems[#problems + 1] = "lacks_skill:" .. skill
      end
    end
    if #problems > 0 then
      if not args.override then
        return {"error", (string.gsub(problems[1], ":.*", "")), table.concat(problems, ",")}
      end
      overridden = table.concat(problems, ",")
    end
  end
  if previous ~= "" then
    redis.call("SREM", key("officer", previous, "cases"), case_id)
    -- sent back to routing: someone else should have it
    if target == "" then redis.call("SADD", key("case", case_id, "excluded"), previous) end
    refresh(previous)
  end
  redis.call("ZREM", key("offers"), case_id)
  redis.call("ZREM", key("sla", "contact"), case_id)
  redis.call("ZREM", key("sla", "review"), case_id)
  redis.call("SREM", key("case", case_id, "excluded"), target)
  if target == "" then
    back_to_routing(case_id, {officer = "", priority = c.priority, created_at = c.created_at},
      false)
  else
    offer_case(case_id, c, target, args.notification_id, "reassigned")
  end
  local fields = {"type", "CaseReassigned", "case_id", case_id, "by", actor,
    "from_officer", previous, "to_officer", target, "reference", c.reference or "",
    "priority", c.priority or "", "district", c.district or ""}
  if overridden ~= "" then  -- what the supervisor overrode (why: a sealed case note)
    fields[#fields + 1] = "overridden"; fields[#fields + 1] = overridden
  end
  fields[#fields + 1] = "at"; fields[#fields + 1] = fmt(now)
  event(case_id, fields)
  return {"ok", target == "" and "waiting" or "offered", previous, target}
end

return {"error", "unknown_action", action}
