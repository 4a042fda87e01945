-- One console sign-in attempt against the per-username lockout, checked and counted in one
-- step (services/console/login.py): refused while the typed username is locked; otherwise
-- counted as a failure *before* its password is checked (a success clears the count), and
-- the attempt whose count reaches a lock locks the username at once. So attempts made at
-- the same moment share the guesses: however many arrive together, no more passwords are
-- checked than the lockout allows, and none while locked.
--
-- ARGV[1] key prefix, ARGV[2] JSON:
--   { digest (sha256 hex of the typed username, as `loginfail:<digest>`),
--     now (epoch seconds), keep (seconds the count is kept after the last attempt),
--     locks = [seconds of lock after 1, 2, 3... failures in a row; the last one repeats] }
-- Returns {"locked", seconds left} — do not check the password — or
--         {"check", failures in a row counting this one, seconds of the lock it set (0: none)}
-- @lib

local failures_key = key("loginfail", args.digest)
local locked_until = tonumber(redis.call("HGET", failures_key, "until") or "0") or 0
if locked_until > now then
  return {"locked", fmt(locked_until - now)}
end
local failures = redis.call("HINCRBY", failures_key, "count", 1)
local lock_seconds = tonumber(args.locks[math.min(failures, #args.locks)]) or 0
if lock_seconds > 0 then
  redis.call("HSET", failures_key, "until", fmt(now + lock_seconds))
end
redis.call("EXPIRE", failures_key, args.keep)
return {"check", tostring(failures), tostring(lock_seconds)}
