-- Routing: pick and reserve an officer for a case, or a waiting case for an officer.
-- One script so that two workers can never give one case to two officers or push an
-- officer past capacity (DESIGN §5).
--
-- ARGV[1] key prefix, ARGV[2] JSON:
--   { mode = "assign" | "drain", now (epoch seconds),
--     case_id (assign) | officer_id (drain),
--     rings = [{index = 0 | 1 | 2, districts = [district...], opens_at = epoch}, ...]
--       (assign: district, neighbours, force-wide, from shared/domain/rings.py `plan`;
--        the first is open from the start, a later one once the case is old enough — or
--        at once when the one before has nobody staffed who could take the case),
--     prefer_until = epoch (assign: preferred skills break ties before this, not after),
--     near = {district: [neighbour...]} (drain: the force's neighbours, for rings),
--     timeouts = {"1": seconds, ...} (offer deadline by priority),
--     from_states = [state...] (states the case may be routed from),
--     notification_id (the offer; for assign also the emergency notice),
--     alert_id (assign: the alert if an emergency has to wait),
--     skill_alert_id, skill_notification_id (assign: waiting for a required skill),
--     events_maxlen, scan, grace }
-- The widest ring a case has reached is its `ring` field (0 district, 1 neighbours, 2
-- force-wide; a wider one is a RingWidened event), and while a wider ring is still to
-- open the case is on `ring:due` at that time (the sweeper routes it again then).
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

-- Whether anyone in a ring could ever take the case: an officer of one of its districts'
-- `staffed` sets (on shift, not off duty — whatever their load, and away counts), not
-- excluded for the case, with every required skill. Bounded like a pick: past `scan * 20`
-- officers without one the ring counts as staffed (hold on a guess rather than widen).
local function staffed(ring, case_id, required)
  local excluded = key("case", case_id, "excluded")
  local scan = tonumber(args.scan or 50)
  local looked = 0
  for _, district in ipairs(ring.districts) do
    local offset = 0
    while true do
      local ids = redis.call("ZRANGE", key("staffed", district), offset, offset + scan - 1)
      if #ids == 0 then break end
      for _, oid in ipairs(ids) do
        if redis.call("SISMEMBER", excluded, oid) == 0 and (#required == 0
            or skills_ok(redis.call("HGET", key("officer", oid), "skills") or "", required)) then
          return true
        end
        looked = looked + 1
        if looked >= scan * 20 then return true end
      end
      offset = offset + scan
    end
  end
  return false
end

-- Record the widest ring case `c` has reached (never narrowed); past the first ring of
-- its plan (`first`) each widening is a RingWidened event, `why` "age" (its time came)
-- or "nobody_staffed" (the ring before had nobody who could take it).
local function widen(case_id, c, ring, first, why)
  local prior = tonumber(c.ring or "-1")
  if ring <= prior then return end
  redis.call("HSET", key("case", case_id), "ring", tostring(ring))
  c.ring = tostring(ring)
  if ring > first then
    event(case_id, {"type", "RingWidened", "case_id", case_id, "reference", c.reference or "",
      "priority", c.priority or "", "district", c.district or "",
      "from_ring", tostring(math.max(prior, first)), "ring", tostring(ring), "why", why,
      "at", fmt(now)})
  end
end

-- Whether waiting case `c` has reached a ring holding one of `home` (an officer's
-- districts): its district (ring 0), its neighbours (`args.near`, ring 1), anyone (ring
-- 2). A case with no ring recorded (routed before rings existed) reaches everyone.
local function within_reach(c, home)
  local ring = tonumber(c.ring or "2")
  if ring >= 2 then return true end
  local district = c.district or ""
  if contains(home, district) then return true end
  if ring < 1 then return false end
  for _, d in ipairs((args.near or {})[district] or {}) do
    if contains(home, d) then return true end
  end
  return false
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
  if c.id == nil or not contains(args.from_states, c.state) then
    redis.call("ZREM", key("outbox"), case_id)
    redis.call("ZREM", key("ring", "due"), case_id)
    if c.id == nil then return {"missing"} end
    return {"noop", c.state}
  end
  local required, preferred = split(c.required_skills), split(c.preferred_skills)
  if now >= tonumber(args.prefer_until or 0) then preferred = {} end  -- relaxed by age
  -- Walk the rings outwards, trying each open one (shared/domain/rings.py `reached`).
  local rings, prior = args.rings, tonumber(c.ring or "-1")
  local first = tonumber(rings[1].index)
  local reached, due, why = first, nil, "age"
  for i, ring in ipairs(rings) do
    local index = tonumber(ring.index)
    if i > 1 then
      local by_age = now >= tonumber(ring.opens_at)
      if not by_age and index > prior and staffed(rings[i - 1], case_id, required) then
        due = tonumber(ring.opens_at)  -- held: busy, not empty
        break
      end
      why = by_age and "age" or "nobody_staffed"
    end
    reached = index
    local best = best_in_pool(ring.districts, case_id, required, preferred)
    if best ~= nil then
      widen(case_id, c, reached, first, why)
      return reserve(case_id, c, best.id)
    end
  end
  widen(case_id, c, reached, first, why)
  if due ~= nil then
    redis.call("ZADD", key("ring", "due"), fmt(due), case_id)
  else
    redis.call("ZREM", key("ring", "due"), case_id)  -- the last ring: it waits there
  end
  -- Nobody eligible in reach: wait, by priority plus age.
  redis.call("ZREM", key("outbox"), case_id)
  redis.call("HSET", key("case", case_id), "route_attempts", "0")
  local alerted = {"waiting", case_id, ""}
  if c.state ~= "waiting" then
    to_waiting(case_id, c)
    event(case_id, {"type", "CaseWaiting", "case_id", case_id, "reference", c.reference or "",
      "priority", c.priority or "", "district", c.district or "", "at", fmt(now)})
    if c.priority == "1" and args.alert_id ~= nil and args.alert_id ~= "" then
      alert(args.alert_id, "emergency_waiting", case_id, c, "")
      notification(args.notification_id, "emergency_waiting", "supervisors", "", case_id, c)
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
  local fields = redis.call("HMGET", key("officer", officer_id), "skills", "districts")
  local skills, home = fields[1] or "", split(fields[2] or "")
  local scan = tonumber(args.scan or 50)
  local offset = 0
  while offset < scan * 20 do
    local ids = redis.call("ZRANGE", key("waiting"), offset, offset + scan - 1)
    if #ids == 0 then break end
    for _, case_id in ipairs(ids) do
      local c = hash(key("case", case_id))
      if c.id == nil or not contains(args.from_states, c.state) then
        redis.call("ZREM", key("waiting"), case_id)  -- stale entry
      elseif within_reach(c, home)
          and redis.call("SISMEMBER", key("case", case_id, "excluded"), officer_id) == 0
          and skills_ok(skills, split(c.required_skills)) then
        return reserve(case_id, c, officer_id)
      end
    end
    offset = offset + scan
  end
  return {"none"}
end

return redis.error_reply("unknown mode " .. tostring(args.mode))
