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
local function notification(nid, kind, rtype, recipient, case_id, c)
  redis.call("HSET", key("notification", nid), "id", nid, "kind", kind, "recipient_type", rtype,
    "recipient", recipient, "case_id", case_id, "reference", c.reference or "",
    "priority", c.priority or "", "district", c.district or "", "created_at", fmt(now),
    "status", "pending", "attempts", "0")
  redis.call("ZADD", key("notify", "outbox"), fmt(now + (cfg.grace or 5)), nid)
end

-- An open supervisor alert about a case (shown until acknowledged).
local function alert(alert_id, kind, case_id, c, officer_id)
  redis.call("HSET", key("alert", alert_id), "id", alert_id, "kind", kind, "case_id", case_id,
    "reference", c.reference or "", "district", c.district or "", "priority", c.priority or "",
    "officer_id", officer_id or "", "created_at", fmt(now), "status", "open")
  redis.call("ZADD", key("alerts", "open"), fmt(now), alert_id)
  redis.call("XADD", key("events"), "MAXLEN", "~", cfg.events_maxlen or 100000, "*",
    "type", "AlertRaised", "alert_id", alert_id, "case_id", case_id, "kind", kind,
    "officer_id", officer_id or "", "district", c.district or "", "at", fmt(now))
end
