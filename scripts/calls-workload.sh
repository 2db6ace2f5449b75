# Sourced after instance.sh by the call-start load scripts: 5,000 members enrolled, each with
# a verified mobile, and $dir/calls.lua, a wrk script whose every request is POST /v1/calls
# with a new call id and the caller ID of an enrolled member. Call ids look like the ones
# IVR platforms send (Genesys, Amazon Connect: UUIDs; Twilio: CA + 32 hex digits): they
# start with 8 hex digits in no order, then carry the run's name, the wrk thread and the
# count. IDS=ordered gives the ids of runs before 2026-12-03 instead (run-thread-count,
# nearly in order), for comparing with older figures.
# wrk's arguments after `--`: the run's name, a pause in ms between a connection's requests,
# and at most how many calls each wrk thread starts (then it only asks GET /livez; 0: no limit).
# Also $dir/answer.lua: every request answers the first question of a call that calls.lua
# started, the date of birth, right (`known_number` in the built-in profile asks dob, zip,
# ssn_last4, two to be right, so the call goes on to its next question). Arguments: the
# name of the run that started the calls, and the pause.
{
  echo "member_id,first_name,mobile_phone,phone_type,dob,zip,ssn_last4"
  for i in $(seq 0 4999); do printf '%d,M%d,+1612203%04d,mobile,1980-01-01,55401,1234\n' $((10000 + i)) "$i" "$i"; done
} > "$dir/members.csv"
# EXTRA_MEMBERS=N: N more synthetic members (`gen-members --clean`) in the same file, for a
# store the size of a real credit union's; the load still calls the 5,000 above.
if [ "${EXTRA_MEMBERS:-0}" -gt 0 ]; then
  "$bin" gen-members "$EXTRA_MEMBERS" --clean -o "$dir/extra.csv" 2>/dev/null
  python3 - "$dir/extra.csv" "$dir/members.csv" <<'PY'
import csv, sys
extra, ours = sys.argv[1], sys.argv[2]
with open(ours, newline='') as f:
    mine = list(csv.DictReader(f))
with open(extra, newline='') as f:
    reader = csv.DictReader(f)
    fields, rows = reader.fieldnames, list(reader)
with open(ours, 'w', newline='') as f:
    out = csv.DictWriter(f, fieldnames=fields)
    out.writeheader()
    out.writerows(rows)
    out.writerows({k: r.get(k, '') for k in fields} for r in mine)
PY
fi
cv enroll "$dir/members.csv" >/dev/null

# What both wrk scripts share: the key, each thread's id, the arguments, the pause, and a
# complaint (the first three) about an answer the run did not expect.
common() {
  echo "KEY = \"$key\""
  cat <<'LUA'
-- setup() runs in the main Lua state; each thread gets its own global tid.
made = 0
function setup(thread) thread:set("tid", made); made = made + 1 end
function init(args)
  n = 0
  run = args[1] or "r"
  pace = tonumber(args[2] or "0")
  limit = tonumber(args[3] or "0")
end
delay = function() return pace end
function unexpected(status, body)
  wrong = (wrong or 0) + 1
  if wrong <= 3 then io.stderr:write("unexpected answer " .. status .. ": " .. body .. "\n") end
end
function headers() return {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. KEY} end
LUA
  if [ "${IDS:-random}" = ordered ]; then
    echo 'function call_id(n) return string.format("%s-%d-%d", run, tid, n) end'
  else
    # 2654435761 is odd, so the first 8 digits differ for every count of a thread
    echo 'function call_id(n)
  local h = (n * 2654435761 + tid * 40503) % 4294967296
  return string.format("%08x-%04x-4%03x-8%03x-%s%d-%012d", h, h % 65536, n % 4096, tid % 4096, run, tid, n)
end'
  fi
}

{ common; cat <<'LUA'
request = function()
  n = n + 1
  if limit > 0 and n > limit then return wrk.format("GET", "/livez") end
  local body = string.format('{"call_id":"%s","ani":"+1612203%04d","dnis":"+18005550100"}',
    call_id(n), (n * 7 + tid * 13) % 5000)
  return wrk.format("POST", "/v1/calls", headers(), body)
end
response = function(status, headers, body)
  -- past the limit the answers are /livez's
  if status ~= 201 and not (limit > 0 and n > limit and status == 200) then unexpected(status, body) end
end
LUA
} > "$dir/calls.lua"

{ common; cat <<'LUA'
request = function()
  n = n + 1
  return wrk.format("POST", string.format("/v1/calls/%s/input", call_id(n)), headers(),
    '{"digits":"01011980"}')
end
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"question":"zip"', 1, true) then unexpected(status, body) end
end
LUA
} > "$dir/answer.lua"
