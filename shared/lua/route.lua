-- Routing: pick and reserve an officer for a case, or a waiting case for an officer.
-- One script so that two workers can never give one case to two officers or push an
-- officer past capacity (DESIGN §5).
--
-- ARGV[1] key prefix, ARGV[2] JSON:
--   { mode = "assign" | "drain", now (epoch seconds),
--     case_id (assign) | officer_id (drain),
--     pools = [[district...], ...] (assign: tried in order, from shared/domain/routing.py),
--     timeouts = {"1": seconds, ...} (offer deadline by priority),
--     from_states = [state...] (states the case may be routed from),
--     notification_id (the offer; for assign also the emergency notice),
--     alert_id (assign: the alert if an emergency has to wait),
--     skill_alert_id, skill_notification_id (assign: waiting for a required skill),
--     events_maxlen, scan, grace }
-- Returns: {"offered", case_id, officer_id, notification_id}
--          | {"waiting", case_id, "", notification id...} (supervisor alerts raised now)
--          | {"noop", state} | {"missing"} | {"none"}
-- Officer changes (save, status, shift) are officer.lua's.
-- @lib

local function has_skill(skills, skill)
  return string.find("," .. (skills or "") .. ",", "," .. skill .. ",", 1, true) ~= nil
end

local function skills_ok(skills, required)
  for _, s in ipairs(required) do
    if not has_skill(skills, s) then return false end
  end
  return true
end

local function count_preferred(skills, preferred)
  local n = 0
  for _, s in ipairs(preferred) do if has_skill(skills, s) then n = n + 1 end end
  return n
end

-- Best officer in one pool: least open cases, then most preferred skills, then idle longest.
-- Each district's set is already in (load, idle) order, so without preferred skills the
-- first eligible officer is that district's best; with them, at most `scan` further
-- officers of the same load are compared. A pick never reads a whole district.
local function best_in_pool(pool, case_id, required, preferred)
  local excluded = key("case", case_id, "excluded")
  local scan = tonumber(args.scan or 50)
  local best = nil
  for _, district in ipairs(pool) do
    local offset, tier, looked = 0, nil, 0
    while true do
      local entries = redis.call("ZRANGE", key("avail", district), offset, offset + scan - 1, "WITHSCORES")
      if #entries == 0 then break end
      local stop = false
      for i = 1, #entries, 2 do
        local oid, score = entries[i], tonumber(entries[i + 1])
        local load = math.floor(score / LOAD)
        if tier ~= nil and (load > tier or looked >= scan) then stop = true break end
        if tier ~= nil then looked = looked + 1 end
        if redis.call("SISMEMBER", excluded, oid) == 0 then
          local skills = redis.call("HGET", key("officer", oid), "skills") or ""
          if skills_ok(skills, required) then
            tier = tier or load
            local pref = count_preferred(skills, preferred)
            if best == nil or load < best.load or (load == best.load and (pref > best.pref
                or (pref == best.pref and score < best.score))) then
              best = {id = oid, load = load, pref = pref, score = score}
            end
            if #preferred == 0 then stop = true break end
          end
        end
      end
      if stop then break end
      offset = offset + scan
      if offset >= scan * 20 then break end  -- bounded: never a scan of every officer
    end
  end
  return best
end

local function reserve(case_id, c, officer_id)
  local nid = args.notification_id
  local deadline = offer_case(case_id, c, officer_id, nid, "offer")
  redis.call("HSET", key("case", case_id), "route_attempts", "0")
  event(case_id, {"type", "CaseOffered", "case_id", case_id, "officer_id", officer_id,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "deadline", fmt(deadline), "at", fmt(now)})
  return {"offered", case_id, officer_id, nid}
end

if args.mode == "assign" then
  local case_id = args.case_id
  local c = hash(key("case", case_id))
  if c.id == nil then
    redis.call("ZREM", key("outbox"), case_id)
    return {"missing"}
  end
  if not contains(args.from_states, c.state) then
    redis.call("ZREM", key("outbox"), case_id)
    return {"noop", c.state}
  end
  local required, preferred = split(c.required_skills), split(c.preferred_skills)
  for _, pool in ipairs(args.pools) do
    local best = best_in_pool(pool, case_id, required, preferred)
    if best ~= nil then return reserve(case_id, c, best.id) end
  end
  -- Nobody eligible: wait by priority, then age.
  redis.call("ZREM", key("outbox"), case_id)
  redis.call("HSET", key("case", case_id), "route_attempts", "0")
  local alerted = {"waiting", case_id, ""}
  if c.state ~= "waiting" then
    to_waiting(case_id, c)
    event(case_id, {"type", "CaseWaiting", "case_id", case_id, "reference", c.reference or "",
      "priority", c.priority or "", "district", c.district or "", "at", fmt(now)})
    if c.priority == "1" and args.alert_id ~= nil and args.alert_id ~= "" then
      alert(args.alert_id, "emergency_waiting", case_id, c, "")
      notification(args.notification_id, "emergency", "supervisors", "", case_id, c)
      alerted[#alerted + 1] = args.notification_id
    end
  end
  -- A required skill nobody eligible has: the supervisors hear at once, skill named, once
  -- per wait (the flag is cleared when the case is next offered).
  if #required > 0 and (c.skill_alert or "") == "" and (args.skill_alert_id or "") ~= "" then
    local skills = table.concat(required, ",")
    alert(args.skill_alert_id, "skill_waiting", case_id, c, "", skills)
    log_alert(case_id, args.skill_alert_id, "skill_waiting", skills)
    notification(args.skill_notification_id, "skill_waiting", "supervisors", "", case_id, c,
      skills)
    redis.call("HSET", key("case", case_id), "skill_alert", args.skill_alert_id)
    alerted[#alerted + 1] = args.skill_notification_id
  end
  return alerted
end

if args.mode == "drain" then
  local officer_id = args.officer_id
  if not refresh(officer_id) then return {"none"} end
  local skills = redis.call("HGET", key("officer", officer_id), "skills") or ""
  local scan = tonumber(args.scan or 50)
  local offset = 0
  while offset < scan * 20 do
    local ids = redis.call("ZRANGE", key("waiting"), offset, offset + scan - 1)
    if #ids == 0 then break end
    for _, case_id in ipairs(ids) do
      local c = hash(key("case", case_id))
      if c.id == nil or not contains(args.from_states, c.state) then
        redis.call("ZREM", key("waiting"), case_id)  -- stale entry
      elseif redis.call("SISMEMBER", key("case", case_id, "excluded"), officer_id) == 0
          and skills_ok(skills, split(c.required_skills)) then
        return reserve(case_id, c, officer_id)
      end
    end
    offset = offset + scan
  end
  return {"none"}
end

return redis.error_reply("unknown mode " .. tostring(args.mode))
