-- Routing: pick and reserve an officer for a case, or a waiting case for an officer.
-- One script so that two workers can never give one case to two officers or push an
-- officer past capacity (DESIGN §5). Keys are derived from the prefix in ARGV[1]
-- (single Redis / Sentinel deployments; not Redis Cluster).
--
-- ARGV: 1 prefix, 2 mode ("assign" | "drain"), 3 subject (case id or officer id),
--       4 now (epoch seconds), 5 config JSON:
--       { pools = [[district...], ...] (assign), timeouts = {"1": s, ...},
--         from_states = [state...] (states the case may be routed from),
--         notification_id, alert_id (emergency alert),
--         skill_alert_id, skill_notification_id (waiting for a required skill),
--         events_maxlen, scan, grace }
-- Returns: {"offered", case_id, officer_id, notification_id}
--          | {"waiting", case_id, "", notification id...} (supervisor alerts raised now)
--          | {"noop", state} | {"missing"} | {"none"}
-- Officer changes (save, status, shift) are officer.lua's.
local P = ARGV[1]
local mode, subject, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local cfg = cjson.decode(ARGV[5])
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
  local scan = tonumber(cfg.scan or 50)
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

local function reserve(case_id, c, officer_id, nid)
  local deadline = now + tonumber(cfg.timeouts[c.priority] or 3600)
  redis.call("SADD", key("officer", officer_id, "cases"), case_id)
  redis.call("HSET", key("officer", officer_id), "last_offer_at", fmt(now))
  refresh(officer_id)
  redis.call("HSET", key("case", case_id), "state", "offered", "officer", officer_id,
    "offered_at", fmt(now), "offer_deadline", fmt(deadline), "updated_at", fmt(now),
    "route_attempts", "0")
  redis.call("HDEL", key("case", case_id), "skill_alert")  -- its wait is over
  redis.call("ZADD", key("offers"), fmt(deadline), case_id)
  redis.call("ZREM", key("waiting"), case_id)
  redis.call("ZREM", key("waiting", "since"), case_id)
  redis.call("ZREM", key("outbox"), case_id)
  event(case_id, {"type", "CaseOffered", "case_id", case_id, "officer_id", officer_id,
    "reference", c.reference or "", "priority", c.priority or "", "district", c.district or "",
    "deadline", fmt(deadline), "at", fmt(now)})
  notification(nid, "offer", "officer", officer_id, case_id, c)
  return {"offered", case_id, officer_id, nid}
end

if mode == "assign" then
  local case_id = subject
  local c = hash(key("case", case_id))
  if c.id == nil then
    redis.call("ZREM", key("outbox"), case_id)
    return {"missing"}
  end
  if not contains(cfg.from_states, c.state) then
    redis.call("ZREM", key("outbox"), case_id)
    return {"noop", c.state}
  end
  local required, preferred = split(c.required_skills), split(c.preferred_skills)
  for _, pool in ipairs(cfg.pools) do
    local best = best_in_pool(pool, case_id, required, preferred)
    if best ~= nil then return reserve(case_id, c, best.id, cfg.notification_id) end
  end
  -- Nobody eligible: wait by priority, then age.
  redis.call("ZREM", key("outbox"), case_id)
  redis.call("HSET", key("case", case_id), "route_attempts", "0")
  local alerted = {"waiting", case_id, ""}
  if c.state ~= "waiting" then
    redis.call("HSET", key("case", case_id), "state", "waiting", "officer", "",
      "waiting_since", fmt(now), "updated_at", fmt(now))
    redis.call("ZADD", key("waiting"), fmt(tonumber(c.priority) * LOAD + tonumber(c.created_at)), case_id)
    redis.call("ZADD", key("waiting", "since"), fmt(now), case_id)
    event(case_id, {"type", "CaseWaiting", "case_id", case_id, "reference", c.reference or "",
      "priority", c.priority or "", "district", c.district or "", "at", fmt(now)})
    if c.priority == "1" and cfg.alert_id ~= nil and cfg.alert_id ~= "" then
      alert(cfg.alert_id, "emergency_waiting", case_id, c, "")
      notification(cfg.notification_id, "emergency", "supervisors", "", case_id, c)
      alerted[#alerted + 1] = cfg.notification_id
    end
  end
  -- A required skill nobody eligible has: the supervisors hear at once, skill named, once
  -- per wait (the flag is cleared when the case is next offered).
  if #required > 0 and (c.skill_alert or "") == "" and (cfg.skill_alert_id or "") ~= "" then
    local skills = table.concat(required, ",")
    alert(cfg.skill_alert_id, "skill_waiting", case_id, c, "", skills)
    redis.call("XADD", key("case", case_id, "log"), "*", "type", "AlertRaised",
      "alert_id", cfg.skill_alert_id, "case_id", case_id, "kind", "skill_waiting",
      "skills", skills, "at", fmt(now))
    notification(cfg.skill_notification_id, "skill_waiting", "supervisors", "", case_id, c,
      skills)
    redis.call("HSET", key("case", case_id), "skill_alert", cfg.skill_alert_id)
    alerted[#alerted + 1] = cfg.skill_notification_id
  end
  return alerted
end

if mode == "drain" then
  local officer_id = subject
  if not refresh(officer_id) then return {"none"} end
  local skills = redis.call("HGET", key("officer", officer_id), "skills") or ""
  local scan = tonumber(cfg.scan or 50)
  local offset = 0
  while offset < scan * 20 do
    local ids = redis.call("ZRANGE", key("waiting"), offset, offset + scan - 1)
    if #ids == 0 then break end
    for _, case_id in ipairs(ids) do
      local c = hash(key("case", case_id))
      if c.id == nil or not contains(cfg.from_states, c.state) then
        redis.call("ZREM", key("waiting"), case_id)  -- stale entry
      elseif redis.call("SISMEMBER", key("case", case_id, "excluded"), officer_id) == 0
          and skills_ok(skills, split(c.required_skills)) then
        return reserve(case_id, c, officer_id, cfg.notification_id)
      end
    end
    offset = offset + scan
  end
  return {"none"}
end

return redis.error_reply("unknown mode " .. tostring(mode))
