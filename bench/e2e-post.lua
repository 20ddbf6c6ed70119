-- wrk script of bench/e2e.sh: every request is the same chat completion, the small one
-- below or, with BENCH_BODY_FILE (environment), that file's bytes (e2e.sh --body-size).
-- BENCH_AUTH (environment), when set, is sent as the Authorization header (the mock
-- direct run needs a key; through HAProxy the gateway sets it).
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
