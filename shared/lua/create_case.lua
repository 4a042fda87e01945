-- Store a new case atomically: case hash, reference, first event (case log + events
-- stream), outbox entry, accept-SLA clock, idempotency key, the supervisor alert and
-- notification records intake asks for and, when given, the router's task message.
-- Either all of it is written or none of it.
--
-- ARGV[1] key prefix, ARGV[2] JSON:
--   { case_id, reference, now (the case's created_at, epoch seconds),
--     fields = {name: value} (the case hash), event = {name: value} (CaseReceived),
--     accept_due (epoch seconds), grace (seconds until the outbox entry and the
--     notifications are due for the sweeper),
--     idempotency = {key, value, ttl (seconds)} (absent = none),
--     alert = {id, kind} (absent = none),
--     notifications = [{id, kind, recipient_type, recipient, sealed_code}, ...]
--       (sealed_code: the check code, sealed, for the reporter's acknowledgement; "" = none),
--     route_queue, route_message (the broker queue's key and the router's task message:
--       LPUSHed here, the case is announced in the same atomic step; absent = intake
--       publishes it after the script),
--     update_due (epoch seconds: the first Victims' Code update; absent = no clock),
--     people = [digest, ...] (the reporter's keyed digests: the case joins each person's
--       repeat-victim set, scored by `now`; entries older than link_window seconds are
--       dropped and the set expires link_window seconds after its newest case),
--     link_window,
--     events_maxlen }
-- Returns {"created", ""} | {"duplicate", stored idempotency value} | {"reference_taken", ""}
--         | {"exists", ""}
-- @lib

local case_id = args.case_id
local idem = args.idempotency
if idem then
  local seen = redis.call("GET", key("idem", idem.key))
  if seen then
    -- One write, so that under durability `replicated` the WAIT after this script counts
    -- the replicas that have the original (replication keeps order): a replay's 200 is as
    -- safe as the first 201. The key keeps its time to live.
    local ttl = redis.call("PTTL", key("idem", idem.key))
    if ttl > 0 then redis.call("PEXPIRE", key("idem", idem.key), ttl) end
    return {"duplicate", seen}
  end
end
if redis.call("EXISTS", key("ref", args.reference)) == 1 then return {"reference_taken", ""} end
if redis.call("EXISTS", key("case", case_id)) == 1 then return {"exists", ""} end

redis.call("HSET", key("case", case_id), unpack(flatten(args.fields)))
redis.call("SET", key("ref", args.reference), case_id)
event(case_id, flatten(args.event))
redis.call("ZADD", key("outbox"), fmt(now + args.grace), case_id)
redis.call("ZADD", key("sla", "accept"), fmt(args.accept_due), case_id)
if idem then
  redis.call("SET", key("idem", idem.key), idem.value, "EX", string.format("%d", idem.ttl))
end
if args.update_due then redis.call("ZADD", key("updates", "due"), fmt(args.update_due), case_id) end
for _, digest in ipairs(args.people or {}) do
  local person = key("person", digest)
  redis.call("ZREMRANGEBYSCORE", person, "-inf", "(" .. fmt(now - args.link_window))
  redis.call("ZADD", person, fmt(now), case_id)
  redis.call("EXPIRE", person, string.format("%d", args.link_window))
end
local c = args.fields  -- what the alert and notification records copy from the case
if args.alert then
  alert(args.alert.id, args.alert.kind, case_id, c, "")
end
for _, n in ipairs(args.notifications) do
  notification(n.id, n.kind, n.recipient_type, n.recipient, case_id, c)
  if (n.sealed_code or "") ~= "" then
    redis.call("HSET", key("notification", n.id), "sealed_code", n.sealed_code)
  end
end
if (args.route_queue or "") ~= "" and (args.route_message or "") ~= "" then
  redis.call("LPUSH", args.route_queue, args.route_message)
end
return {"created", ""}
