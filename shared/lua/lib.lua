-- Helpers shared by the routing scripts. `load_script` splices this file in where a script
-- says `-- @lib`, after the script has declared its locals P (key prefix), now and cfg.
local LOAD = 10000000000  -- availability score = open cases * LOAD + last offer time

local function key(...) return P .. table.concat({...}, ":") end
local function fmt(x) return string.format("%.6f", x) end

local function hash(k)
  local flat = redis.call("HGETALL", k)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function split(csv)
  local out = {}
  if csv == nil or csv == "" then return out end
  for part in string.gmatch(csv, "[^,]+") do out[#out + 1] = part end
  return out
end

local function contains(list, value)
  for _, v in ipairs(list) do if v == value then return true end end
  return false
end

-- Append an event to the case's own log and to the capped `events` stream.
local function event(case_id, fields)
  redis.call("XADD", key("case", case_id, "log"), "*", unpack(fields))
  redis.call("XADD", key("events"), "MAXLEN", "~", cfg.events_maxlen or 100000, "*", unpack(fields))
end

-- Put an officer in, or take them out of, every availability set they belong to;
-- true when they can be offered a case now.
local function refresh(officer_id)
  local o = hash(key("officer", officer_id))
  if o.id == nil then return false end
  local load = redis.call("SCARD", key("officer", officer_id, "cases"))
  local eligible = o.role == "officer" and o.status == "available" and o.on_shift == "1"
    and load < tonumber(o.capacity or "0")
  local score = load * LOAD + tonumber(o.last_offer_at or "0")
  local districts = split(o.districts)
  districts[#districts + 1] = "_all"
  for _, d in ipairs(districts) do
    if eligible then
      redis.call("ZADD", key("avail", d), fmt(score), officer_id)
    else
      redis.call("ZREM", key("avail", d), officer_id)
    end
  end
  return eligible
end

-- A pending notification record about case `c`, due for the sweeper after the grace.
-- `skills` (optional): the required skills the message names (routing data, not personal).
local function notification(nid, kind, rtype, recipient, case_id, c, skills)
  redis.call("HSET", key("notification", nid), "id", nid, "kind", kind, "recipient_type", rtype,
    "recipient", recipient, "case_id", case_id, "reference", c.reference or "",
    "priority", c.priority or "", "district", c.district or "", "created_at", fmt(now),
    "status", "pending", "attempts", "0")
  if skills ~= nil and skills ~= "" then
    redis.call("HSET", key("notification", nid), "skills", skills)
  end
  redis.call("ZADD", key("notify", "outbox"), fmt(now + (cfg.grace or 5)), nid)
end

-- An open supervisor alert about a case (shown until acknowledged); `skills` as above.
local function alert(alert_id, kind, case_id, c, officer_id, skills)
  redis.call("HSET", key("alert", alert_id), "id", alert_id, "kind", kind, "case_id", case_id,
    "reference", c.reference or "", "district", c.district or "", "priority", c.priority or "",
    "officer_id", officer_id or "", "skills", skills or "", "created_at", fmt(now),
    "status", "open")
  redis.call("ZADD", key("alerts", "open"), fmt(now), alert_id)
  redis.call("XADD", key("events"), "MAXLEN", "~", cfg.events_maxlen or 100000, "*",
    "type", "AlertRaised", "alert_id", alert_id, "case_id", case_id, "kind", kind,
    "officer_id", officer_id or "", "district", c.district or "", "skills", skills or "",
    "at", fmt(now))
end

-- Send case `c` back to routing: out of its officer's hands (and never offered to them
-- again when `exclude`), its offer and after-acceptance clocks stopped, into the waiting
-- queue and the outbox (due now: the sweeper re-publishes it if no message does).
local function back_to_routing(case_id, c, exclude)
  local officer_id = c.officer or ""
  if officer_id ~= "" then
    redis.call("SREM", key("officer", officer_id, "cases"), case_id)
    if exclude then redis.call("SADD", key("case", case_id, "excluded"), officer_id) end
    refresh(officer_id)
  end
  for _, z in ipairs({key("offers"), key("sla", "contact"), key("sla", "review")}) do
    redis.call("ZREM", z, case_id)
  end
  redis.call("HSET", key("case", case_id), "state", "waiting", "officer", "",
    "waiting_since", fmt(now), "updated_at", fmt(now))
  redis.call("ZADD", key("waiting"), fmt(tonumber(c.priority) * LOAD + tonumber(c.created_at)), case_id)
  redis.call("ZADD", key("waiting", "since"), fmt(now), case_id)
  redis.call("ZADD", key("outbox"), fmt(now), case_id)
  return officer_id
end

-- Why officer `o` may hold no pending offer now, or nil when they may: an offer is only
-- for someone who could be given one — role officer, available, on shift (leave counts as
-- off shift; `off_shift_reason` says which, from the rota). Load is never a reason.
local function unavailable_because(o, off_shift_reason)
  if o.id == nil then return nil end
  if o.role ~= "officer" then return "role_changed" end
  if o.status == "away" then return "officer_away" end
  if o.status ~= "available" then return "officer_off_duty" end
  if o.on_shift ~= "1" then return off_shift_reason or "shift_ended" end
  return nil
end

-- After any change to an officer: their place in the availability sets and, when they may
-- not hold offers now, every pending offer of theirs (state offered only) withdrawn and
-- sent back to routing, with the reason in the event. Accepted and contacted cases stay.
-- Returns whether they can be offered a case now, and the withdrawn case ids.
local function settle(officer_id, off_shift_reason)
  local why = unavailable_because(hash(key("officer", officer_id)), off_shift_reason)
  local withdrawn = {}
  if why ~= nil then
    local held = redis.call("SMEMBERS", key("officer", officer_id, "cases"))
    table.sort(held)
    for _, case_id in ipairs(held) do
      local c = hash(key("case", case_id))
      if c.state == "offered" and c.officer == officer_id then
        back_to_routing(case_id, c, false)  -- not excluded: theirs again when they are back
        event(case_id, {"type", "OfferWithdrawn", "case_id", case_id, "officer_id", officer_id,
          "reference", c.reference or "", "priority", c.priority or "",
          "district", c.district or "", "reason", why, "at", fmt(now)})
        withdrawn[#withdrawn + 1] = case_id
      end
    end
  end
  return refresh(officer_id), withdrawn
end
