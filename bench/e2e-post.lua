-- wrk script of bench/e2e.sh: every request is the same chat completion, the small one
-- below or, with BENCH_BODY_FILE (environment), that file's bytes (e2e.sh --body-size).
-- BENCH_AUTH (environment), when set, is sent as the Authorization header (the mock
-- direct run needs a key; through HAProxy the gateway sets it).
-- BENCH_RATE (environment), when set, paces each wrk thread at that many requests per second
-- (bench/e2e.sh --rate divides the offered rate among the threads). Debian has no wrk2, so the
-- pacing is done here: every request takes the thread's next slot of a fixed schedule and waits
-- for it (wrk's delay()), whichever connection is free. wrk times a request from its send, so
-- the figures are the service latency at that offered rate as long as enough connections are
-- free to keep the schedule; bench/e2e.sh checks the rate achieved against the rate offered.
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.body = '{"model":"mock-model","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}'
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file ~= nil and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
end
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

local rate = tonumber(os.getenv("BENCH_RATE") or "")
if rate ~= nil and rate > 0 then
  -- A millisecond wall clock: Lua's os.time() counts seconds; wrk runs LuaJIT, whose FFI
  -- reaches clock_gettime.
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } keymux_bench_timespec;
    int clock_gettime(int clock_id, keymux_bench_timespec *tp);
  ]]
  local CLOCK_MONOTONIC = 1
  local ts = ffi.new("keymux_bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval_ms = 1000 / rate
  local max_behind_ms = 50
  local next_slot = nil
  -- wrk calls delay() before each request: the milliseconds until this request's slot.
  -- Slots missed by timer granularity (wrk's timers count whole milliseconds) or a short
  -- stall are sent at once, as an open-loop client would; a schedule more than max_behind_ms
  -- late (the client itself stalled) starts again from now instead of bursting.
  function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now - max_behind_ms then
      next_slot = now
    end
    local wait = next_slot - now
    next_slot = next_slot + interval_ms
    if wait <= 0 then
      return 0
    end
    return math.floor(wait + 0.5)
  end
end
