-- wrk script of bench/e2e.sh: every request is the same small chat completion.
-- BENCH_AUTH (environment), when set, is sent as the Authorization header (the mock
-- direct run needs a key; through HAProxy the gateway sets it).
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.body = '{"model":"mock-model","messages":[{"role":"user","content":"Hello"}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
