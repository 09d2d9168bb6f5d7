-- The sign-in benchmark's load (.ci/signin_bench.py), run by wrk with one connection per thread:
--   wrk -t8 -c8 -d4s -s signin_client.lua URL -- password EMAIL PASSWORD
--       the same password sign-in (POST /api/auth/login/) over and over;
--   wrk -t8 -c8 -d4s -s signin_client.lua URL -- totp ACCOUNTS.lua PASSWORD
--       two-step sign-ins: each takes an account of ACCOUNTS.lua (never one another thread
--       uses), signs in with its password, then answers the mfa_token with the TOTP code of the
--       current 30-second step, precomputed by the benchmark for the steps the run can reach.
-- Prints `signins OK ERRORS EXHAUSTED MICROSECONDS` at the end: sign-ins that got an access
-- token, requests answered otherwise, whether a thread ran out of accounts (its sign-ins then
-- stopped: 1), and how long the run took.
-- wrk (C and LuaJIT) rather than Python threads: the client shares the server's cores, and
-- Python's took 11% of a core at this rate, which the server's sign-in rate paid for.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local mode, email, password, accounts, thread_count
local step_of_request = "login" -- the next request: "login" or "mfa"
local current                   -- the account signing in (totp mode)
local mfa_token
local taken = 0                 -- accounts this thread has taken
ok, errors, exhausted = 0, 0, 0

local function json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function init(args)
   mode = args[1]
   password = args[3]
   if mode == "password" then
      email = args[2]
   else
      -- { threads = N, accounts = { { email = …, first = STEP, codes = { CODE, … } }, … } }:
      -- codes[k] is the code of step first + k - 1.
      local file = dofile(args[2])
      accounts, thread_count = file.accounts, file.threads
   end
end

local function login(who)
   return wrk.format("POST", "/api/auth/login/", { ["Content-Type"] = "application/json" },
      '{"email": ' .. json_string(who) .. ', "password": ' .. json_string(password) .. '}')
end

function request()
   if mode == "password" then
      return login(email)
   end
   if step_of_request == "mfa" then
      -- A code works in the step it was made for and one either side; never the step the
      -- enrolment spent (replay), so no earlier than the one after it.
      local step = math.max(math.floor(os.time() / 30), current.first)
      local code = current.codes[step - current.first + 1] or "000000"
      return wrk.format("POST", "/api/auth/login/mfa/", { ["Content-Type"] = "application/json" },
         '{"mfa_token": ' .. json_string(mfa_token) .. ', "code": "' .. code .. '"}')
   end
   -- Accounts id, id + threads, id + 2 threads, …: disjoint across the threads.
   local index = id + 1 + taken * thread_count
   current = accounts[index]
   if current == nil then
      exhausted = 1
      return wrk.format("GET", "/api/health/")
   end
   taken = taken + 1
   return login(current.email)
end

function response(status, headers, body)
   if mode == "password" then
      if status == 200 and body:find('"access"', 1, true) then ok = ok + 1 else errors = errors + 1 end
      return
   end
   if current == nil then
      return -- out of accounts: the health check it sent instead counts for nothing
   end
   if step_of_request == "login" then
      mfa_token = status == 200 and body:match('"mfa_token"%s*:%s*"([^"]+)"')
      if mfa_token then
         step_of_request = "mfa"
      else
         errors = errors + 1
      end
   else
      if status == 200 and body:find('"access"', 1, true) then ok = ok + 1 else errors = errors + 1 end
      step_of_request = "login"
   end
end

function done(summary, latency, requests)
   local total_ok, total_errors, total_exhausted = 0, 0, 0
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_errors = total_errors + thread:get("errors")
      total_exhausted = math.max(total_exhausted, thread:get("exhausted"))
   end
   io.write(string.format("signins %d %d %d %d\n", total_ok, total_errors, total_exhausted, summary.duration))
end
