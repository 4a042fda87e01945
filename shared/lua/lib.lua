-- The prelude and helpers every script in shared/lua shares. `script_source` splices this
-- file in where a script has its one `-- @lib` line (tests/unit/test_lua.py checks that).
--
-- One calling convention for every script: ARGV[1] is the key prefix, ARGV[2] one JSON
-- object holding everything else, always with `now` (epoch seconds). No KEYS: every key
-- is derived from the prefix with `key(...)` (the one other key is the broker queue that
-- create_case.lua pushes the router's message onto, named in full by its caller). That is
-- right for the deployments Liaison supports — one Redis, or Redis with replicas and
-- Sentinel — and would not be for Redis Cluster, which needs a script's keys declared
-- (and in one slot).
-- Each script's header lists the fields of its JSON argument and what it returns.
local P = ARGV[1]
local args = cjson.decode(ARGV[2])
local now = tonumber(args.now)

-- The availability set of every officer, whatever their districts: "the whole force"
-- (shared/domain/routing.py FORCE_WIDE; a test checks the two agree).
local FORCE_WIDE = "force_wide"
-- Availability scores order by a count first, then by a time: open cases * LOAD + last
-- offer time.
local LOAD = 10000000000
-- Aging: the seconds of waiting each priority is worth in the `waiting` queue (a head
-- start): high leads standard by 4 h, standard leads advice by 8 h, an emergency by ~31
-- years (always first). shared/domain/rings.py WAITING_LEAD is the same table (a test
-- checks the two agree).
local WAIT_LEAD = {["1"] = 1000000000, ["2"] = 43200, ["3"] = 28800, ["4"] = 0}

local function key(...) return P .. table.concat({...}, ":") end
local function fmt(x) return string.format("%.6f", x) end

local function hash(k)
  local flat = redis.call("HGETALL", k)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- A decoded JSON object as HSET's field, value, field, value... list.
local function flatten(obj)
  local out = {}
  for k, v in pairs(obj) do out[#out + 1] = k; out[#out + 1] = tostring(v) end
  return out
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

-- Running totals for /metrics, counted with the event that they count: `emit` adds 1 in
-- the `counters` hash to "<type>" plus "|<value>" of each field listed for the type here
-- ("?name": "1" when set, "0" when empty). shared/store/counters.py has the same table.
local COUNTED = {
  ["CaseReceived"] = {"kind", "priority"}, ["CaseOffered"] = {},
  ["CaseReassigned"] = {"?to_officer"}, ["OfferAccepted"] = {}, ["OfferDeclined"] = {},
  ["OfferExpired"] = {}, ["OfferWithdrawn"] = {}, ["CaseClosed"] = {"priority"},
  ["CaseDeadLettered"] = {}, ["NotificationSent"] = {"kind"},
  ["NotificationSkipped"] = {"kind"}, ["NotificationFailed"] = {"kind"},
  ["NotificationDeadLettered"] = {"kind"},
}

local function count(fields)
  local t = {}
  for i = 1, #fields - 1, 2 do t[fields[i]] = fields[i + 1] end
  local names = COUNTED[t.type]
  if names == nil then return end
  local parts = {t.type}
  for _, name in ipairs(names) do
    if string.sub(name, 1, 1) == "?" then
      parts[#parts + 1] = (t[string.sub(name, 2)] or "") ~= "" and "1" or "0"
    else
      parts[#parts + 1] = t[name] or ""
    end
  end
  redis.call("HINCRBY", key("counters"), table.concat(parts, "|"), 1)
end

-- Append an event to the capped `events` stream only (no case, or not the case's story),
-- and count it.
local function emit(fields)
  redis.call("XADD", key("events"), "MAXLEN", "~", args.events_maxlen or 100000, "*",
    unpack(fields))
  count(fields)
end

-- Append an event to the case's own log and to the capped `events` stream.
local function event(case_id, fields)
  redis.call("XADD", key("case", case_id, "log"), "*", unpack(fields))
  emit(fields)
end

-- Where a waiting case stands in the `waiting` queue, lowest first: when it was received,
-- less its priority's head start — priority plus age, so a long-waiting standard case can
-- overtake a fresh advice callback and an emergency always leads. The one scoring
-- function (DESIGN §5; shared/domain/rings.py `waiting_score` is its twin).
local function waiting_score(c)
  return tonumber(c.created_at) - (WAIT_LEAD[c.priority or ""] or 0)
end

-- Put an officer in, or take them out of, every availability set they belong to (their
-- districts and the force-wide set) and every district's `staffed` set (on shift, role
-- officer, not off duty — whatever their load: routing rings with nobody staffed are
-- skipped); true when they can be offered a case now.
local function refresh(officer_id)
  local o = hash(key("officer", officer_id))
  if o.id == nil then return false end
  local load = redis.call("SCARD", key("officer", officer_id, "cases"))
  local eligible = o.role == "officer" and o.status == "available" and o.on_shift == "1"
    and load < tonumber(o.capacity or "0")
  local staffed = o.role == "officer" and o.on_shift == "1"
    and (o.status == "available" or o.status == "away")
  local score = load * LOAD + tonumber(o.last_offer_at or "0")
  local districts = split(o.districts)
  for _, d in ipairs(districts) do
    if staffed then
      redis.call("ZADD", key("staffed", d), 0, officer_id)
    else
      redis.call("ZREM", key("staffed", d), officer_id)
    end
  end
  districts[#districts + 1] = FORCE_WIDE
  for _, d in ipairs(districts) do
    if eligible then
      redis.call("ZADD", key("avail", d), fmt(score), officer_id)
    else
      redis.call("ZREM", key("avail", d), officer_id)
    end
  end
  return eligible
end

-- A pending notification record about case `c`, due for the sweeper after the grace
-- (`args.grace` seconds). `skills` (optional): the required skills the message names
-- (routing data, not personal).
local function notification(nid, kind, rtype, recipient, case_id, c, skills)
  redis.call("HSET", key("notification", nid), "id", nid, "kind", kind, "recipient_type", rtype,
    "recipient", recipient, "case_id", case_id, "reference", c.reference or "",
    "priority", c.priority or "", "district", c.district or "", "created_at", fmt(now),
    "status", "pending", "attempts", "0")
  if skills ~= nil and skills ~= "" then
    redis.call("HSET", key("notification", nid), "skills", skills)
  end
  redis.call("ZADD", key("notify", "outbox"), fmt(now + (args.grace or 5)), nid)
end

-- An open supervisor alert about a case (shown until acknowledged), announced on the
-- `events` stream; `skills` as above.
local function alert(alert_id, kind, case_id, c, officer_id, skills)
  redis.call("HSET", key("alert", alert_id), "id", alert_id, "kind", kind, "case_id", case_id,
    "reference", c.reference or "", "district", c.district or "", "priority", c.priority or "",
    "officer_id", officer_id or "", "skills", skills or "", "created_at", fmt(now),
    "status", "open")
  redis.call("ZADD", key("alerts", "open"), fmt(now), alert_id)
  emit({"type", "AlertRaised", "alert_id", alert_id, "case_id", case_id, "kind", kind,
    "officer_id", officer_id or "", "district", c.district or "", "skills", skills or "",
    "at", fmt(now)})
end

-- The alert in the case's own log too, for alerts that are part of the case's story.
local function log_alert(case_id, alert_id, kind, skills)
  local fields = {"type", "AlertRaised", "alert_id", alert_id, "case_id", case_id,
    "kind", kind}
  if skills ~= nil and skills ~= "" then
    fields[#fields + 1] = "skills"; fields[#fields + 1] = skills
  end
  fields[#fields + 1] = "at"; fields[#fields + 1] = fmt(now)
  redis.call("XADD", key("case", case_id, "log"), "*", unpack(fields))
end

-- Case `c` waits for an officer: state waiting, in the `waiting` queue (by
-- `waiting_score`) and in `waiting:since` (the long-wait alert clock).
local function to_waiting(case_id, c)
  redis.call("HSET", key("case", case_id), "state", "waiting", "officer", "",
    "waiting_since", fmt(now), "updated_at", fmt(now))
  redis.call("ZADD", key("waiting"), fmt(waiting_score(c)), case_id)
  redis.call("ZADD", key("waiting", "since"), fmt(now), case_id)
end

-- Offer case `c` to an officer (their load +1, the case offered with a deadline by its
-- priority from `args.timeouts`, out of the waiting queue and the outbox) and write the
-- officer's notification of `kind` ("offer", or "reassigned" by a supervisor). The event
-- is the caller's: routing's CaseOffered, or the supervisor's CaseReassigned.
-- Returns the offer deadline.
local function offer_case(case_id, c, officer_id, nid, kind)
  local deadline = now + tonumber(args.timeouts[c.priority] or 3600)
  redis.call("SADD", key("officer", officer_id, "cases"), case_id)
  redis.call("HSET", key("officer", officer_id), "last_offer_at", fmt(now))
  refresh(officer_id)
  redis.call("HSET", key("case", case_id), "state", "offered", "officer", officer_id,
    "offered_at", fmt(now), "offer_deadline", fmt(deadline), "updated_at", fmt(now))
  redis.call("HDEL", key("case", case_id), "skill_alert")  -- any wait is over
  redis.call("ZADD", key("offers"), fmt(deadline), case_id)
  for _, z in ipairs({key("waiting"), key("waiting", "since"), key("outbox"),
                      key("ring", "due")}) do
    redis.call("ZREM", z, case_id)
  end
  notification(nid, kind, "officer", officer_id, case_id, c)
  return deadline
end

-- Send case `c` back to routing: out of its officer's hands (and never offered to them
-- again when `exclude`), its offer and after-acceptance clocks stopped, waiting, and in
-- the outbox (due now: the sweeper re-publishes it if no message does).
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
  to_waiting(case_id, c)
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
